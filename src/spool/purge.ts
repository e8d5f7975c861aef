/**
 * Purge (lifecycle step 7): empty a channel's pending queue into `archive/`, each message with a reason
 * file, never deleting anything. Each move is a claim-style rename, so a consumer racing the purge either
 * gets a message or the purge does, never both.
 *
 * In bulk (bulk-transitions.ts): each message is moved and given its reason at once, synchronously, a
 * slice at a time; `archive/` is fsynced once per slice, before its events are logged or anything is
 * reported. A crash anywhere
 * leaves every message either still pending or archived (perhaps without its reason: `archive:moved`).
 */
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { listDir, syncDir, fileModeNow } from "./files.ts";
import { BULK_SLICE, nextSlice } from "./bulk-files.ts";
import { archiveSync } from "./bulk-transitions.ts";
import { logEventsSync } from "./events.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

/**
 * Archives every pending message of `q` as withdrawn, with `reason`; returns the ids moved, in order.
 * Each slice's `purged` events are appended in one write once the slice is durable.
 */
export async function purgeQueue(q: Queue, reason: string, by: string, sync: boolean): Promise<string[]> {
  await requireQueue(q);
  const names = (await listDir(join(q.dir, "requests"))).filter((name) => !name.startsWith(".")).sort();
  const moved: string[] = [];
  for (let i = 0; i < names.length; i += BULK_SLICE) {
    if (i > 0) await nextSlice();
    const mode = fileModeNow(join(q.dir, "archive"));
    const first = moved.length;
    for (const name of names.slice(i, i + BULK_SLICE)) {
      const id = name.replace(/\.json$/, "");
      // Files that are not named like messages keep their name, with the archive's suffix added.
      const base = isId(id) ? id : name;
      const note = { state: "withdrawn" as const, reason, by };
      if (archiveSync(q, join(q.dir, "requests", name), base, note, mode)) moved.push(base);
    }
    if (moved.length === first) continue;
    // Logged only once durable: one fsync of archive/ per slice, and one append for the slice's events.
    if (sync) await syncDir(join(q.dir, "archive"));
    logEventsSync(
      q,
      moved.slice(first).map((id) => ({ event: "purged" as const, id, actor: by, detail: reason })),
    );
  }
  return moved;
}
