/**
 * Purge (lifecycle step 7): empty a channel's pending queue into `archive/`, each message with a reason
 * file, never deleting anything. Each move is a claim-style rename, so a consumer racing the purge either
 * gets a message or the purge does, never both.
 */
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import { listDir, syncDir, tryRename, writeNewFile } from "./files.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

export interface ArchiveReason {
  reason: string;
  by: string;
}

export async function purgeQueue(q: Queue, why: ArchiveReason, sync: boolean): Promise<string[]> {
  await requireQueue(q);
  const dir = q.dir;
  const moved: string[] = [];
  for (const name of (await listDir(join(dir, "requests"))).sort()) {
    if (name.startsWith(".")) continue;
    const id = name.replace(/\.json$/, "");
    // Files that are not named like messages keep their name, with the archive's suffix added.
    const base = isId(id) ? id : name;
    if (!(await tryRename(join(dir, "requests", name), join(dir, "archive", `${base}_request.json`)))) continue;
    await archiveReason(dir, base, why);
    moved.push(base);
  }
  if (sync && moved.length > 0) await syncDir(join(dir, "archive"));
  return moved;
}

/** Writes `archive/<id>_reason.json`; a second reason for the same id gets a unique suffix. */
export async function archiveReason(dir: string, id: string, why: ArchiveReason): Promise<void> {
  const note = `${JSON.stringify({ id, reason: why.reason, by: why.by, at: formatTimestamp() }, null, 2)}\n`;
  await writeNewFile(join(dir, "archive", `${id}_reason.json`), note, false).catch(() =>
    writeNewFile(join(dir, "archive", `${id}_reason.${Date.now()}.json`), note, false),
  );
}
