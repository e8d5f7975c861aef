/**
 * The spool's capabilities beside the core: channel admin, inspection, supervision and topics. Each
 * method resolves a checked queue (spool-base.ts) and calls the module that does the work.
 */
import { AbqError } from "../protocol/errors.ts";
import { type ChannelName, channelName, messageId, subscriberName } from "../protocol/names.ts";
import type { PolicyInput } from "../protocol/policy.ts";
import type { RequeueOptions, RequeueResult, SweepReport } from "../lifecycle/records.ts";
import type {
  ChannelAdmin,
  ChannelStatus,
  Inspection,
  ListState,
  QueueOptions,
  Supervision,
  Topics,
} from "../lifecycle/transport.ts";
import { logEvent } from "./events.ts";
import { followQueue } from "./follow.ts";
import { applyGroupMode } from "./group.ts";
import { queueStatus, statusAll } from "./counts.ts";
import { findMessage } from "./inspect.ts";
import { countState, listState } from "./listing.ts";
import { queuesOf, requeueAll, sweepAll, traceAll } from "./maintenance.ts";
import { queueOf } from "./paths.ts";
import { readPolicy, writePolicy } from "./policy.ts";
import { purgeQueue } from "./purge.ts";
import { createChannel, initHome, listChannels, readChannelInfo, removeChannel, requireQueue } from "./registry.ts";
import { listDead } from "./retry.ts";
import { assertSafeQueue, assertUsableHome } from "./safety.ts";
import { SpoolBase } from "./spool-base.ts";
import { subscribe, unsubscribe } from "./topic.ts";
import { archive, at } from "./transitions.ts";

export abstract class SpoolViews extends SpoolBase implements ChannelAdmin, Inspection, Supervision, Topics {
  async init() {
    await assertUsableHome(this.home);
    return initHome(this.home);
  }

  /** Refuses an unsafe home or channel as `send` does: creating one there would hand it to others. */
  async createChannel(name: string, opts: { description?: string | undefined; topic?: boolean | undefined } = {}) {
    const q = queueOf(this.home, channelName(name));
    await assertUsableHome(this.home);
    await this.safeHome();
    await assertSafeQueue(q.dir, this.home);
    return createChannel(this.home, q.channel, opts);
  }

  async subscribe(topic: string, name: string) {
    const t = channelName(topic);
    await this.requireTopic(t);
    return subscribe(this.home, t, subscriberName(name));
  }

  async unsubscribe(topic: string, name: string) {
    const t = channelName(topic);
    await this.requireTopic(t);
    await unsubscribe(this.home, t, subscriberName(name));
  }

  listChannels() {
    return listChannels(this.home);
  }

  async channelInfo(name: string) {
    const q = queueOf(this.home, channelName(name));
    await requireQueue(q);
    return { ...(await readChannelInfo(this.home, q.channel)), status: await queueStatus(q) };
  }

  async removeChannel(name: string): Promise<ChannelStatus> {
    const q = queueOf(this.home, channelName(name));
    await requireQueue(q);
    const last = await queueStatus(q);
    await removeChannel(this.home, q.channel);
    return last;
  }

  async configure(channel: string, changes: PolicyInput) {
    const q = queueOf(this.home, channelName(channel));
    await requireQueue(q);
    const policy = await writePolicy(q.dir, changes);
    if (changes.group !== undefined) await applyGroupMode(this.home, q.dir, changes.group);
    this.checked.clear();
    return policy;
  }

  async policy(channel: string) {
    return readPolicy(queueOf(this.home, channelName(channel)));
  }

  /** Withdraws a pending (unclaimed) message: it moves to the archive with a reason, and waiters stop. */
  async cancel(channel: string, messageRef: string, opts: QueueOptions = {}): Promise<void> {
    const id = messageId(messageRef);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    const note = { state: "withdrawn" as const, reason: `cancelled by ${this.agent}`, by: this.agent };
    if (await archive(q, at.pending(q, id), id, note)) {
      logEvent(q, "cancelled", id, this.agent);
      return;
    }
    const found = await findMessage(this.home, id, q.channel, this.maxBytes, (x) => this.safe(x)).catch(
      () => undefined,
    );
    if (!found) throw new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${channel}'`);
    throw new AbqError("E_CONFLICT", `message ${id} is ${found.state}, so it can no longer be cancelled`, {
      hint: found.state === "claimed" ? "a consumer is already working on it" : `see it with: abq show ${id}`,
    });
  }

  status() {
    return statusAll(this.home, (q) => this.safe(q));
  }

  /** Takes back claims whose worker is gone (see requeue.ts), or revives dead letters (`fromDead`). */
  async requeue(opts: RequeueOptions = {}): Promise<RequeueResult[]> {
    const queues = await queuesOf(this.home, optionalChannel(opts.channel));
    const results = await requeueAll({ home: this.home, agent: this.agent, sync: this.sync }, queues, opts);
    for (const q of queues) this.cursors.delete(this.cursorKey(q));
    return results;
  }

  async sweep(opts: { channel?: string | undefined; dryRun?: boolean | undefined } = {}): Promise<SweepReport[]> {
    const ctx = { home: this.home, agent: this.agent, sync: this.sync };
    await this.safeHome();
    return sweepAll(ctx, optionalChannel(opts.channel), opts.dryRun ?? false);
  }

  async trace(id: string, channel?: string) {
    return traceAll(this.home, messageId(id), optionalChannel(channel));
  }

  async dead(channel: string, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    await requireQueue(q); // "no channel", not an empty list
    return listDead(q);
  }

  async list(
    channel: string,
    state: ListState,
    opts: { limit: number; oldestFirst: boolean; onTotal?: ((total: number) => void) | undefined } & QueueOptions,
  ) {
    return listState(await this.queue(channel, opts), state, { ...opts, maxBytes: this.maxBytes });
  }

  async *follow(channel: string, opts: QueueOptions & { signal?: AbortSignal | undefined; backstopMs: number }) {
    yield* followQueue(await this.queue(channel, opts), this.maxBytes, opts.signal, opts.backstopMs);
  }

  async count(channel: string, state: ListState, opts: QueueOptions = {}) {
    return countState(await this.queue(channel, opts), state);
  }

  async requireChannel(channel: string, opts: QueueOptions = {}) {
    await requireQueue(await this.queue(channel, opts));
  }

  async find(id: string, channel?: string) {
    return findMessage(this.home, messageId(id), optionalChannel(channel), this.maxBytes, (q) => this.safe(q));
  }

  async purge(channel: string, reason: string, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    return purgeQueue(q, reason, this.agent, this.sync); // logs each slice's events itself
  }
}

function optionalChannel(channel: string | undefined): ChannelName | undefined {
  return channel === undefined ? undefined : channelName(channel);
}
