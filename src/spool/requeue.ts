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
 *
 * Claims are judged and taken a slice at a time with synchronous file calls, and each slice's retries
 * share their fsyncs (bulk-retry.ts gives the sequence and what a crash at each step leaves).
 */
import { type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { isId } from "../protocol/ids.ts";
import { archive } from "./transitions.ts";
import { type EventEntry, logEventsSync } from "./events.ts";
import { listDir } from "./files.ts";
import { ownerAlive, stopOrphanedHandler } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { readPolicy } from "./policy.ts";
import { scanFinalAnswer } from "./scan.ts";
import { discardStagedLease, type StagedLease, stagedLeases, stagedOwnerOf } from "./staged-lease.ts";
import { BULK_SLICE, nextSlice } from "./bulk-files.ts";
import { retrySlice, type TakenClaim } from "./bulk-retry.ts";
import { readLeaseSync, TakeOver, takeClaimSync } from "./bulk-take.ts";
import type { RequeueFilter, RequeueResult } from "../lifecycle/records.ts";

export async function requeueQueue(
  q: Queue,
  filter: RequeueFilter,
  actor: string,
  sync: boolean,
): Promise<RequeueResult[]> {
  const policy = await readPolicy(q);
  const now = Date.now();
  let allStaged: Map<string, StagedLease[]> | undefined; // listed once, and only if a claim has no lease
  const names = (await listDir(join(q.dir, "processing")))
    .filter((name) => !name.startsWith(".") && isId(name.replace(/\.json$/, "")))
    .filter((name) => filter.ids === undefined || filter.ids.includes(name.replace(/\.json$/, "")))
    .sort();
  const found = new Map<string, RequeueResult>();
  const takeOver = new TakeOver(q);
  const base = (id: string) => ({
    channel: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    id,
  });
  for (let i = 0; i < names.length; i += BULK_SLICE) {
    if (i > 0) await nextSlice();
    const taken: Array<TakenClaim & { owner: string | undefined }> = [];
    for (const name of names.slice(i, i + BULK_SLICE)) {
      const id = name.replace(/\.json$/, "");
      const st = statOrUndefined(join(q.dir, "processing", name));
      if (!st) continue; // moved on since the listing
      const lease = readLeaseSync(q, id);
      // No lease: either its claimer died before writing it (its staged lease names it) or a seed worker.
      const staged = lease ? undefined : stagedOwnerOf((allStaged ??= await stagedLeases(q)).get(id), st.ctimeMs);
      const holder = lease ?? staged?.lease;
      const claimedAt = holder ? Date.parse(holder.claimed_at) : st.ctimeMs;
      const deadline = holder ? Date.parse(holder.deadline) : st.ctimeMs + policy.lease_s * 1000;
      const alive = holder ? ownerAlive(holder.owner) : undefined;
      const owner = holder ? `${holder.owner.agent} pid ${holder.owner.pid}@${holder.owner.host}` : undefined;
      let why = whyTake(filter, { now, claimedAt, deadline, alive });
      if (staged && alive === false && why !== undefined) why = "its claimer died before writing its lease";
      if (alive === true || why === undefined) {
        if (filter.ids !== undefined)
          found.set(id, { ...base(id), action: "kept", reason: alive ? "owner is alive" : "lease not expired", owner });
        continue;
      }
      if (filter.dryRun) {
        found.set(id, { ...base(id), action: "would-requeue", reason: why, owner });
        continue;
      }
      if (!(await takeOver.take(id, lease !== undefined))) continue; // another sweeper took it first
      await discardStagedLease(staged);
      if (lease && alive === false) stopOrphanedHandler(lease); // its watcher died; the handler must not run on
      if (scanFinalAnswer(q.dir, id, 64 * 1024 * 1024)) {
        if (await archive(q, join(q.dir, "processing", name), id)) {
          found.set(id, { ...base(id), action: "archived", reason: "already answered", owner });
        }
        continue;
      }
      const mine = takeClaimSync(q, id);
      if (mine !== undefined) taken.push({ id, mine, failure: { reason: why }, owner });
    }
    const { done, error } = await retrySlice(q, taken, policy, actor, sync);
    const events: EventEntry[] = [];
    const by = new Map(taken.map((t) => [t.id, t]));
    for (const d of done) {
      const t = by.get(d.id)!;
      events.push({ event: d.outcome, id: d.id, actor, attempt: d.attempts, detail: t.failure.reason });
      found.set(d.id, { ...base(d.id), action: d.outcome, reason: t.failure.reason, owner: t.owner });
    }
    logEventsSync(q, events);
    // What was not started stays as it was.
    if (error !== undefined) throw error instanceof Error ? error : new Error("requeue failed", { cause: error });
  }
  return names.flatMap((name) => found.get(name.replace(/\.json$/, "")) ?? []);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
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
