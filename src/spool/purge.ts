/**
 * Purge (lifecycle step 7): empty a channel's pending queue into `archive/`, each message with a reason
 * file, never deleting anything. Each move is a claim-style rename, so a consumer racing the purge either
 * gets a message or the purge does, never both.
 */
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { listDir, syncDir } from "./files.ts";
import { archive } from "./transitions.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

/** Archives every pending message of `q` as withdrawn, with `reason`; returns the ids moved. */
export async function purgeQueue(q: Queue, reason: string, by: string, sync: boolean): Promise<string[]> {
  await requireQueue(q);
  const moved: string[] = [];
  for (const name of (await listDir(join(q.dir, "requests"))).sort()) {
    if (name.startsWith(".")) continue;
    const id = name.replace(/\.json$/, "");
    // Files that are not named like messages keep their name, with the archive's suffix added.
    const base = isId(id) ? id : name;
    if (await archive(q, join(q.dir, "requests", name), base, { state: "withdrawn", reason, by })) moved.push(base);
  }
  if (sync && moved.length > 0) await syncDir(join(q.dir, "archive"));
  return moved;
}
