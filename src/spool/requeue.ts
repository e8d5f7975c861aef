/**
 * Requeueing claims whose worker is gone: `abq requeue` and the sweep.
 *
 * A claim is taken back only when its owner is not known to be alive: on this host the owner's pid is
 * checked (a live process keeps its claim, however late); from other hosts only the lease deadline
 * counts. A claim without a lease is judged by the lease its claimer staged (staged-lease.ts); only one
 * with neither (a seed worker's claim) counts from its ctime. Taking back = revoking the lease (a rename
 * only one sweeper wins; for a claim without a lease file, creating one exclusively first), then the usual
 * retry path (attempts + 1, backoff, dead letter).
 * A claim that was already answered (a respond that crashed before archiving) is archived instead.
 * Safe to run from several cron jobs at once and while watchers work; running it twice changes nothing.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { readFinalAnswer } from "./answers.ts";
import { logEvent } from "./events.ts";
import { ensureSubdir, listDir, writeNewFile } from "./files.ts";
import { HOST, leasePath, ownerAlive, readLease, revokeLease, stopOrphanedHandler } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { readPolicy } from "./policy.ts";
import { retryOrDead } from "./retry.ts";
import { discardStagedLease, type StagedLease, stagedLeases, stagedOwnerOf } from "./staged-lease.ts";
import { archive } from "./transitions.ts";
import { eachInPool } from "./pool.ts";
import type { RequeueFilter, RequeueResult } from "../lifecycle/records.ts";

/** Claims taken back at once: their fsyncs share journal commits (src/spool/pool.ts). */
const REQUEUE_PARALLEL = 16;

export async function requeueQueue(
  q: Queue,
  filter: RequeueFilter,
  actor: string,
  sync: boolean,
): Promise<RequeueResult[]> {
  const policy = await readPolicy(q);
  const now = Date.now();
  let allStaged: Promise<Map<string, StagedLease[]>> | undefined; // listed once, and only if a claim has no lease
  const names = (await listDir(join(q.dir, "processing")))
    .filter((name) => !name.startsWith(".") && isId(name.replace(/\.json$/, "")))
    .filter((name) => filter.ids === undefined || filter.ids.includes(name.replace(/\.json$/, "")))
    .sort();
  const found = new Map<string, RequeueResult>();
  // Each claim's steps touch its own files only; results are reported in id order whatever the timing.
  await eachInPool(names, REQUEUE_PARALLEL, async (name) => {
    const id = name.replace(/\.json$/, "");
    const base = { channel: q.channel, ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}), id };
    const st = await fs.stat(join(q.dir, "processing", name)).catch(() => undefined);
    if (!st) return;
    const lease = await readLease(q, id);
    // No lease: either its claimer died before writing it (its staged lease names it) or a seed worker.
    const staged = lease ? undefined : stagedOwnerOf((await (allStaged ??= stagedLeases(q))).get(id), st.ctimeMs);
    const holder = lease ?? staged?.lease;
    const claimedAt = holder ? Date.parse(holder.claimed_at) : st.ctimeMs;
    const deadline = holder ? Date.parse(holder.deadline) : st.ctimeMs + policy.lease_s * 1000;
    const alive = holder ? ownerAlive(holder.owner) : undefined;
    const owner = holder ? `${holder.owner.agent} pid ${holder.owner.pid}@${holder.owner.host}` : undefined;
    let why = whyTake(filter, { now, claimedAt, deadline, alive });
    if (staged && alive === false && why !== undefined) why = "its claimer died before writing its lease";
    if (alive === true || why === undefined) {
      if (filter.ids !== undefined)
        found.set(id, { ...base, action: "kept", reason: alive ? "owner is alive" : "lease not expired", owner });
      return;
    }
    if (filter.dryRun) {
      found.set(id, { ...base, action: "would-requeue", reason: why, owner });
      return;
    }
    if (!(await takeOver(q, id, lease !== undefined))) return; // another sweeper took it first
    await discardStagedLease(staged);
    if (lease && alive === false) stopOrphanedHandler(lease); // its watcher died; the handler must not run on
    if (await readFinalAnswer(q.dir, id, 64 * 1024 * 1024)) {
      if (await archive(q, join(q.dir, "processing", name), id)) {
        found.set(id, { ...base, action: "archived", reason: "already answered", owner });
      }
      return;
    }
    const { outcome, attempts } = await retryOrDead(q, id, policy, { reason: why }, actor, sync);
    if (outcome === "gone") return;
    await logEvent(q, outcome, id, actor, { attempt: attempts, detail: why });
    found.set(id, { ...base, action: outcome, reason: why, owner });
  });
  return names.flatMap((name) => found.get(name.replace(/\.json$/, "")) ?? []);
}

function whyTake(
  filter: RequeueFilter,
  c: { now: number; claimedAt: number; deadline: number; alive: boolean | undefined },
): string | undefined {
  if (filter.olderThanMs !== undefined) {
    return c.now - c.claimedAt >= filter.olderThanMs
      ? `claimed more than ${Math.round(filter.olderThanMs / 1000)}s ago`
      : undefined;
  }
  if (c.alive === false && (filter.deadOwners || filter.ids !== undefined)) return "owner process is gone";
  if (c.now > c.deadline) return c.alive === false ? "lease expired; owner process is gone" : "lease expired";
  if (filter.ids !== undefined && c.alive === undefined && c.deadline < c.now) return "lease expired";
  return undefined;
}

/** Makes us the one requeuer of `id`: revoke its lease, or claim the lease slot when there is none. */
async function takeOver(q: Queue, id: string, hasLease: boolean): Promise<boolean> {
  if (hasLease) return revokeLease(q, id);
  const marker = { id, token: "sweep", owner: { agent: "sweep", pid: process.pid, host: HOST } };
  try {
    await ensureSubdir(join(q.dir, "leases"));
    await writeNewFile(leasePath(q, id), JSON.stringify(marker), false);
  } catch {
    return false;
  }
  return revokeLease(q, id);
}
