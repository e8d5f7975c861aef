/**
 * Purge (lifecycle step 7): empty a channel's pending queue into `archive/`, each message with a reason
 * file, never deleting anything. Each move is a claim-style rename, so a consumer racing the purge either
 * gets a message or the purge does, never both.
 */
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { listDir, syncDir } from "./files.ts";
import { archive } from "./transitions.ts";
import { eachInPool } from "./pool.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

/** Messages moved at once: each is a rename and a reason file, their I/O overlaps in the thread pool. */
const PURGE_PARALLEL = 16;

/** Archives every pending message of `q` as withdrawn, with `reason`; returns the ids moved, in order. */
export async function purgeQueue(q: Queue, reason: string, by: string, sync: boolean): Promise<string[]> {
  await requireQueue(q);
  const names = (await listDir(join(q.dir, "requests"))).filter((name) => !name.startsWith(".")).sort();
  const moved = new Set<string>();
  await eachInPool(names, PURGE_PARALLEL, async (name) => {
    const id = name.replace(/\.json$/, "");
    // Files that are not named like messages keep their name, with the archive's suffix added.
    const base = isId(id) ? id : name;
    if (await archive(q, join(q.dir, "requests", name), base, { state: "withdrawn", reason, by })) moved.add(name);
  });
  if (sync && moved.size > 0) await syncDir(join(q.dir, "archive"));
  return names
    .filter((name) => moved.has(name))
    .map((name) => (isId(name.replace(/\.json$/, "")) ? name.replace(/\.json$/, "") : name));
}
