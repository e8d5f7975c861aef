/**
 * The spool's supervision calls over many queues: requeue (or revive dead letters), sweep, trace. Each
 * runs per queue (a channel's own and each topic subscriber's) through the single-queue functions of
 * requeue.ts, sweep.ts and retry.ts.
 */
import { AbqError, ioError } from "../protocol/errors.ts";
import type { ChannelName, MessageId } from "../protocol/names.ts";
import type { LifecycleEvent, RequeueOptions, RequeueResult, SweepReport } from "../lifecycle/records.ts";
import { logEvent, traceEvents } from "./events.ts";
import { type Queue, queueOf } from "./paths.ts";
import { listChannels, readChannelInfo, requireQueue } from "./registry.ts";
import { requeueQueue } from "./requeue.ts";
import { listDead, reviveDead } from "./retry.ts";
import { assertSafeQueue } from "./safety.ts";
import { sweepQueue, tidyChannels } from "./sweep.ts";
import { finishFanouts } from "./topic.ts";
import { join } from "node:path";

export interface MaintenanceContext {
  home: string;
  agent: string;
  sync: boolean;
}

/** Every queue of one channel (or of all): the channel's own and each topic subscriber's. */
export async function queuesOf(home: string, channel?: ChannelName): Promise<Queue[]> {
  const infos = channel !== undefined ? [await readChannelInfo(home, channel)] : await listChannels(home);
  if (channel !== undefined) await requireQueue(queueOf(home, channel));
  return infos.flatMap((info) => [
    queueOf(home, info.name),
    ...(info.subscribers ?? []).map((sub) => queueOf(home, info.name, sub)),
  ]);
}

/** Takes back claims whose worker is gone (see requeue.ts), or revives dead letters (`fromDead`). */
export async function requeueAll(
  ctx: MaintenanceContext,
  queues: Queue[],
  opts: RequeueOptions,
): Promise<RequeueResult[]> {
  const results: RequeueResult[] = [];
  for (const q of queues) {
    if (!opts.fromDead) {
      results.push(...(await requeueQueue(q, opts, ctx.agent, ctx.sync)));
      continue;
    }
    const revived = opts.dryRun ? (await listDead(q)).map((d) => d.id) : await reviveDead(q, opts.ids, ctx.sync);
    for (const id of revived) {
      if (opts.ids !== undefined && !opts.ids.includes(id)) continue;
      if (!opts.dryRun) logEvent(q, "revived", id, ctx.agent);
      const action = opts.dryRun ? "would-requeue" : "requeued";
      results.push({ channel: q.channel, subscriber: q.subscriber, id, action, reason: "from dead letters" });
    }
  }
  return results;
}

/** All maintenance, per queue (see sweep.ts); with no channel, also tidies the channel folders. */
export async function sweepAll(
  ctx: MaintenanceContext,
  channel: ChannelName | undefined,
  dryRun: boolean,
): Promise<SweepReport[]> {
  const reports: SweepReport[] = [];
  if (channel === undefined && !dryRun) await tidyChannels(join(ctx.home, "channels"));
  for (const q of await queuesOf(ctx.home, channel)) {
    try {
      await assertSafeQueue(q.dir, ctx.home);
      if (q.subscriber === undefined && !dryRun) await finishFanouts(ctx.home, q.channel);
      reports.push(await sweepQueue(q, ctx.agent, ctx.sync, dryRun));
    } catch (err) {
      // One broken or unsafe channel (a file where leases/ should be, a symlink, a full disk) must not
      // stop the cron sweep of every other channel: report it in its entry and go on.
      reports.push(failedSweep(q, err));
    }
  }
  return reports;
}

function failedSweep(q: Queue, err: unknown): SweepReport {
  const e = ioError(
    `cannot sweep ${q.subscriber !== undefined ? `${q.channel} (as ${q.subscriber})` : q.channel}`,
    err,
  );
  return {
    channel: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    requeued: [],
    promoted: 0,
    expired: [],
    staging_removed: 0,
    pruned: 0,
    error: { code: e.code, message: e.hint !== undefined ? `${e.message} (${e.hint})` : e.message },
  };
}

/** Events about `id`, from its channel's log (or every channel's, when not given), oldest first. */
export async function traceAll(home: string, id: MessageId, channel?: ChannelName): Promise<LifecycleEvent[]> {
  const names = channel !== undefined ? [channel] : (await listChannels(home)).map((c) => c.name);
  const events: LifecycleEvent[] = [];
  for (const name of names) events.push(...(await traceEvents(queueOf(home, name).dir, id)));
  if (events.length === 0)
    throw new AbqError("E_NO_MESSAGE", `no events for ${id}`, { hint: `look for it with: abq show ${id}` });
  return events.sort((a, b) => a.at.localeCompare(b.at));
}
