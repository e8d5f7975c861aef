/**
 * `abq sweep`: all the maintenance one cron line should do, for every channel (and topic subscriber):
 *
 * 1. claims whose lease expired, or whose owner on this host is gone → requeued (requeue.ts);
 * 2. retries whose backoff is over → back to `requests/`;
 * 3. unfinished topic fan-outs → completed;
 * 4. pending messages past their TTL → `expired/`, each with its reason (bulk-expire.ts);
 * 5. staging leftovers in `tmp/` older than an hour (crashed writers) → removed;
 * 6. answered, archived and dead files older than the channel's `retain_s` → removed;
 * 7. the event log → rotated past its cap; empty helper folders and half-removed channels → tidied.
 *
 * Every step is a rename or an idempotent delete, so sweeps may overlap each other and running watchers.
 */
import { lstatSync, type Stats } from "node:fs";
import * as fs from "../fs-promised.ts";
import { BULK_SLICE, nextSlice, removeFileSync } from "./bulk-files.ts";
import { join } from "node:path";
import { rotateEvents } from "./events.ts";
import { type Lease, leasePath, ownerAlive, readLease } from "./lease.ts";
import { randomHex } from "../protocol/random.ts";
import { listDir, pathExists, tryRename } from "./files.ts";
import { removeStaleStaged } from "./staged-lease.ts";
import type { Queue } from "./paths.ts";
import { readPolicy } from "./policy.ts";
import { expirePending } from "./bulk-expire.ts";
import { requeueQueue } from "./requeue.ts";
import type { SweepReport } from "../lifecycle/records.ts";
import { promoteDue } from "./retry.ts";
import { restoreRetries } from "./taken.ts";
import { isExpired } from "./leased-work.ts";

/** Staging files older than this belong to writers that died. */
export const STAGING_MAX_AGE_MS = 3600 * 1000;

export async function sweepQueue(q: Queue, actor: string, sync: boolean, dryRun = false): Promise<SweepReport> {
  const policy = await readPolicy(q);
  const report: SweepReport = {
    channel: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    requeued: await requeueQueue(q, { deadOwners: true, dryRun }, actor, sync),
    promoted: dryRun ? 0 : (await restoreRetries(q, 60_000, actor)) + (await promoteDue(q)),
    expired: [],
    staging_removed: 0,
    pruned: 0,
  };
  const now = Date.now();
  report.expired = await expirePending(q, actor, { sync, dryRun, isExpired: (m) => isExpired(m, now) });
  report.staging_removed = await removeOlderThan(join(q.dir, "tmp"), now - STAGING_MAX_AGE_MS, dryRun);
  if (policy.retain_s > 0) {
    const cutoff = now - policy.retain_s * 1000;
    for (const dir of ["archive", "responses", "dead", "expired", "late"]) {
      report.pruned += await removeOlderThan(join(q.dir, dir), cutoff, dryRun);
    }
  }
  if (!dryRun) {
    await rotateEvents(q.dir);
    for (const dir of ["delayed", "late", "dead", "expired", "fanout"])
      await fs.rmdir(join(q.dir, dir)).catch(() => undefined);
    await removeOlderThan(join(q.dir, "leases"), now - STAGING_MAX_AGE_MS, false, (n) => n.startsWith(".revoked-"));
    await removeStrayLeases(q, now);
    await removeStaleStaged(q, now, STAGING_MAX_AGE_MS, ownerAlive);
  }
  return report;
}

/**
 * Deletes files in `dir` last modified before `cutoff` (ms); returns how many (would have been) removed.
 * Synchronous, a slice at a time (bulk-files.ts says why): a retained archive holds one file per message.
 */
async function removeOlderThan(
  dir: string,
  cutoff: number,
  dryRun: boolean,
  pick: (name: string) => boolean = () => true,
): Promise<number> {
  let removed = 0;
  const names = (await listDir(dir)).filter(pick);
  for (let i = 0; i < names.length; i += BULK_SLICE) {
    if (i > 0) await nextSlice();
    for (const name of names.slice(i, i + BULK_SLICE)) {
      const st = lstatOrUndefined(join(dir, name));
      if (!st || !st.isFile() || st.mtimeMs >= cutoff) continue;
      if (!dryRun) removeFileSync(join(dir, name));
      removed++;
    }
  }
  return removed;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // gone since the listing (or unreadable): not ours to remove
  }
}

/**
 * Leases whose message is no longer claimed (a worker killed between archiving and dropping its lease),
 * once past their deadline: they hold nothing and would only confuse `abq check`. The message may be
 * claimed again while we look, with a fresh lease under the same name, so a stray lease is taken by
 * rename and checked to be the one judged stale; anything else goes straight back.
 */
async function removeStrayLeases(q: Queue, now: number): Promise<void> {
  for (const name of await listDir(join(q.dir, "leases"))) {
    if (name.startsWith(".") || !name.endsWith(".json")) continue;
    const id = name.slice(0, -5);
    if (await pathExists(join(q.dir, "processing", name))) continue;
    const stale = await readLease(q, id);
    if (!stale || Date.parse(stale.deadline) > now) continue; // gone already, or perhaps still in use
    const taken = join(q.dir, "leases", `.revoked-${id}-${process.pid}-${randomHex(3)}`);
    if (!(await tryRename(leasePath(q, id), taken))) continue;
    const judged = await fs.readFile(taken, "utf8").then(
      (t) => (JSON.parse(t) as Lease).token,
      () => undefined,
    );
    if (judged !== stale.token) await fs.link(taken, leasePath(q, id)).catch(() => undefined); // a fresh claim's
    await fs.removeFile(taken);
  }
}

/** Finishes deletions of channels that a crashed `channel rm` left half done. */
export async function tidyChannels(channelsPath: string): Promise<number> {
  let removed = 0;
  for (const name of await listDir(channelsPath)) {
    if (!name.startsWith(".removing-")) continue;
    await fs.rm(join(channelsPath, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
