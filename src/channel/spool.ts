/**
 * The filesystem transport: the spool under `$ABQ_HOME`, behind the `Transport` interface. It holds only
 * per-process caches (claim cursors, folder watches, channel kinds); all shared state is the files.
 */
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { isId } from "../protocol/ids.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type {
  ChannelStatus,
  Claimed,
  FailureInfo,
  ListState,
  QueueOptions,
  RespondResult,
  Transport,
  WaitResponseOptions,
} from "../transport.ts";
import { type AnswerHook, waitForAnswer } from "./answers.ts";
import { ClaimCursor } from "./claim.ts";
import { type LifecycleEvent, logEvent, traceEvents } from "./events.ts";
import { requeueQueue, type RequeueFilter, type RequeueResult } from "./requeue.ts";
import { listDead, reviveDead } from "./retry.ts";
import { assertSafeDir, assertSafeQueue } from "./safety.ts";
import { applyGroupMode } from "./group.ts";
import { sweepQueue, tidyChannels, type SweepReport } from "./sweep.ts";
import type { Lease } from "./lease.ts";
import { type PolicyInput, readPolicy, writePolicy } from "./policy.ts";
import { claimWork, releaseWork, renewWork, respondWork, type WorkContext } from "./work.ts";
import { deliver } from "./deliver.ts";
import { type DurabilityOptions, resolveFsync, resolveMaxBytes, syncDir, tryRename } from "./files.ts";
import { countState, findMessage, listState, queueStatus, statusAll } from "./inspect.ts";
import { FolderSignal } from "./notify.ts";
import { type HomeOptions, type Queue, queueOf, resolveHome, validateChannelName } from "./paths.ts";
import { archiveReason, purgeQueue } from "./purge.ts";
import { createChannel, initHome, listChannels, readChannelInfo, removeChannel, requireQueue } from "./registry.ts";
import { alreadyDelivered, replyMessage } from "./reply.ts";
import { finishFanouts, notATopic, publish, subscribe, unsubscribe } from "./topic.ts";

export interface FsTransportOptions extends HomeOptions, DurabilityOptions {
  /** Largest message file accepted, in bytes. Default: `ABQ_MAX_BYTES` or 4 MiB. */
  maxBytes?: number | undefined;
  /** Who is acting, recorded in leases, reason files and the event log. */
  agent?: string | undefined;
  /** Process recorded as the owner of claims made here. Default: this process. */
  ownerPid?: number | undefined;
}

export interface RequeueOptions extends RequeueFilter {
  /** One channel (default: all). */
  channel?: string | undefined;
  /** Revive dead letters instead of requeueing claims. */
  fromDead?: boolean | undefined;
}

export class FsTransport implements Transport {
  readonly home: string;
  private readonly sync: boolean;
  private readonly maxBytes: number;
  private readonly agent: string;
  private readonly cursors = new Map<string, ClaimCursor>();
  private readonly signals = new Map<string, FolderSignal>();
  private readonly work: WorkContext;
  /** Folders already checked by assertSafe… in this process. */
  private readonly checked = new Set<string>();
  /** Channel kinds seen by batch sends (a batch does not re-read channel.json per message). */
  private readonly kinds = new Map<string, { kind: "queue" | "topic"; at: number }>();
  /** `requests/` folders written by batch sends and not yet fsynced. */
  private readonly unsynced = new Set<string>();

  constructor(opts: FsTransportOptions = {}) {
    this.home = resolveHome(opts);
    this.sync = resolveFsync(opts);
    this.maxBytes = opts.maxBytes ?? resolveMaxBytes();
    this.agent = opts.agent ?? "unknown";
    this.work = {
      home: this.home,
      sync: this.sync,
      maxBytes: this.maxBytes,
      agent: this.agent,
      ownerPid: opts.ownerPid ?? process.pid,
      replies: this.replies,
    };
  }

  init() {
    return initHome(this.home);
  }

  createChannel(name: string, opts: { description?: string | undefined; topic?: boolean | undefined } = {}) {
    return createChannel(this.home, validateChannelName(name), opts);
  }

  async subscribe(topic: string, name: string) {
    await this.requireTopic(topic);
    return subscribe(this.home, topic, name);
  }

  async unsubscribe(topic: string, name: string) {
    await this.requireTopic(topic);
    await unsubscribe(this.home, topic, name);
  }

  listChannels() {
    return listChannels(this.home);
  }

  async channelInfo(name: string) {
    await requireQueue(queueOf(this.home, name));
    return { ...(await readChannelInfo(this.home, name)), status: await queueStatus(queueOf(this.home, name)) };
  }

  async removeChannel(name: string): Promise<ChannelStatus> {
    const q = queueOf(this.home, name);
    await requireQueue(q);
    const last = await queueStatus(q);
    await removeChannel(this.home, name);
    return last;
  }

  async send(message: Request, opts: { batch?: boolean | undefined } = {}): Promise<Request> {
    const q = await this.safe(queueOf(this.home, message.to));
    // The channel's kind decides queue vs topic delivery; re-read it at most every 2 s per process.
    const known = this.kinds.get(message.to);
    let kind = known?.kind;
    if (known === undefined || (!opts.batch && Date.now() - known.at > 2000)) {
      kind = (await readChannelInfo(this.home, message.to)).kind;
      this.kinds.set(message.to, { kind, at: Date.now() });
    }
    const batched = opts.batch === true && kind === "queue";
    const sent =
      kind === "topic"
        ? await publish(this.home, q, message, this.sync)
        : await deliver(q, message, { sync: this.sync, maxBytes: this.maxBytes, deferDirSync: batched });
    if (batched) this.unsynced.add(join(q.dir, "requests"));
    await logEvent(q, "sent", message.id, message.from.agent);
    return sent;
  }

  async flush(): Promise<void> {
    for (const dir of this.unsynced) if (this.sync) await syncDir(dir);
    this.unsynced.clear();
  }

  async configure(channel: string, changes: PolicyInput) {
    const q = queueOf(this.home, validateChannelName(channel));
    await requireQueue(q);
    const policy = await writePolicy(q.dir, changes);
    if (changes.group !== undefined) await applyGroupMode(this.home, q.dir, changes.group);
    this.checked.clear();
    return policy;
  }

  async policy(channel: string) {
    return readPolicy(queueOf(this.home, validateChannelName(channel)));
  }

  async defaultTtl(channel: string): Promise<number> {
    return (await readPolicy(queueOf(this.home, validateChannelName(channel)))).ttl_s;
  }

  async claim(channel: string, opts: QueueOptions = {}): Promise<Claimed | null> {
    const q = await this.queue(channel, opts);
    if (q.subscriber !== undefined) await finishFanouts(this.home, channel);
    const key = `${channel}\0${q.subscriber ?? ""}`;
    let cursor = this.cursors.get(key);
    if (!cursor) this.cursors.set(key, (cursor = new ClaimCursor()));
    const claimed = await claimWork(this.work, q, cursor);
    return claimed && q.subscriber !== undefined ? { ...claimed, subscriber: q.subscriber } : claimed;
  }

  async respond(
    channel: string,
    response: Response,
    opts: QueueOptions & { lease?: string | undefined } = {},
  ): Promise<RespondResult> {
    return respondWork(this.work, await this.queue(channel, opts), response, opts.lease);
  }

  async renew(
    channel: string,
    id: string,
    token: string,
    opts: QueueOptions & { handlerPgid?: number | undefined } = {},
  ): Promise<Lease> {
    return renewWork(this.work, await this.queue(channel, opts), id, token, { handlerPgid: opts.handlerPgid });
  }

  async release(
    channel: string,
    id: string,
    opts: QueueOptions & { retry?: boolean | undefined; failure?: FailureInfo | undefined } = {},
  ) {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    const outcome = await releaseWork(this.work, q, id, opts);
    this.cursors.get(`${channel}\0${q.subscriber ?? ""}`)?.reset(); // it is older than the cursor's listing
    return outcome;
  }

  /** Withdraws a pending (unclaimed) message: it moves to the archive with a reason, and waiters stop. */
  async cancel(channel: string, id: string, opts: QueueOptions = {}): Promise<void> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    if (await tryRename(join(q.dir, "requests", `${id}.json`), join(q.dir, "archive", `${id}_request.json`))) {
      await archiveReason(q.dir, id, { reason: `cancelled by ${this.agent}`, by: this.agent });
      await logEvent(q, "cancelled", id, this.agent);
      return;
    }
    const found = await this.find(id, channel).catch(() => undefined);
    if (!found) throw new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${channel}'`);
    throw new AbqError("E_CONFLICT", `message ${id} is ${found.state}, so it can no longer be cancelled`, {
      hint: found.state === "claimed" ? "a consumer is already working on it" : `see it with: abq show ${id}`,
    });
  }

  status() {
    return statusAll(this.home);
  }

  /** Takes back claims whose worker is gone (see requeue.ts), or revives dead letters (`fromDead`). */
  async requeue(opts: RequeueOptions = {}): Promise<RequeueResult[]> {
    const results: RequeueResult[] = [];
    for (const q of await this.queues(opts.channel)) {
      if (opts.fromDead) {
        const revived = opts.dryRun ? (await listDead(q)).map((d) => d.id) : await reviveDead(q, opts.ids, this.sync);
        for (const id of revived) {
          if (opts.ids !== undefined && !opts.ids.includes(id)) continue;
          if (!opts.dryRun) await logEvent(q, "revived", id, this.agent);
          results.push({
            channel: q.channel,
            subscriber: q.subscriber,
            id,
            action: opts.dryRun ? "would-requeue" : "requeued",
            reason: "from dead letters",
          });
        }
      } else {
        results.push(...(await requeueQueue(q, opts, this.agent, this.sync)));
      }
      this.cursors.delete(`${q.channel}\0${q.subscriber ?? ""}`);
    }
    return results;
  }

  async sweep(opts: { channel?: string | undefined; dryRun?: boolean | undefined } = {}): Promise<SweepReport[]> {
    const reports: SweepReport[] = [];
    if (opts.channel === undefined && !opts.dryRun) await tidyChannels(join(this.home, "channels"));
    for (const q of await this.queues(opts.channel)) {
      if (q.subscriber === undefined && !opts.dryRun) await finishFanouts(this.home, q.channel);
      reports.push(await sweepQueue(q, this.agent, this.sync, opts.dryRun ?? false));
    }
    return reports;
  }

  /** Events about `id`, from its channel's log (or every channel's, when not given). */
  async trace(id: string, channel?: string): Promise<LifecycleEvent[]> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const names =
      channel !== undefined ? [validateChannelName(channel)] : (await listChannels(this.home)).map((c) => c.name);
    const events: LifecycleEvent[] = [];
    for (const name of names) events.push(...(await traceEvents(queueOf(this.home, name).dir, id)));
    if (events.length === 0)
      throw new AbqError("E_NO_MESSAGE", `no events for ${id}`, { hint: `look for it with: abq show ${id}` });
    return events.sort((a, b) => a.t.localeCompare(b.t));
  }

  async dead(channel: string, opts: QueueOptions = {}) {
    return listDead(await this.queue(channel, opts));
  }

  /** Every queue of one channel (or of all): the channel's own and each topic subscriber's. */
  private async queues(channel?: string): Promise<Queue[]> {
    const infos =
      channel !== undefined
        ? [await readChannelInfo(this.home, validateChannelName(channel))]
        : await listChannels(this.home);
    if (channel !== undefined) await requireQueue(queueOf(this.home, channel));
    return infos.flatMap((info) => [
      queueOf(this.home, info.name),
      ...(info.subscribers ?? []).map((sub) => queueOf(this.home, info.name, sub)),
    ]);
  }

  async list(channel: string, state: ListState, opts: { limit: number; oldestFirst: boolean } & QueueOptions) {
    return listState(await this.queue(channel, opts), state, { ...opts, maxBytes: this.maxBytes });
  }

  async count(channel: string, state: ListState, opts: QueueOptions = {}) {
    return countState(await this.queue(channel, opts), state);
  }

  async requireChannel(channel: string, opts: QueueOptions = {}) {
    await requireQueue(await this.queue(channel, opts));
  }

  find(id: string, channel?: string) {
    return findMessage(this.home, id, channel, this.maxBytes);
  }

  async purge(channel: string, reason: string, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    const ids = await purgeQueue(q, { reason, by: this.agent }, this.sync);
    for (const id of ids) await logEvent(q, "purged", id, this.agent, { detail: reason });
    return ids;
  }

  async waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    const key = `${channel}\0${q.subscriber ?? ""}`;
    let folder = this.signals.get(key);
    if (!folder) this.signals.set(key, (folder = new FolderSignal(join(q.dir, "requests"))));
    await folder.wait(timeoutMs, signal);
  }

  async waitForResponse(
    channel: string,
    id: string,
    timeoutMs: number,
    opts: WaitResponseOptions & { backstopMs?: number } = {},
  ): Promise<Response | null> {
    const q = queueOf(this.home, channel);
    await requireQueue(q);
    return waitForAnswer(q, id, { timeoutMs, backstopMs: opts.backstopMs ?? 250, maxBytes: this.maxBytes, ...opts });
  }

  async close(): Promise<void> {
    await this.flush();
    return this.closeWatches();
  }

  private closeWatches(): Promise<void> {
    for (const folder of this.signals.values()) folder.close();
    this.signals.clear();
    this.cursors.clear();
    return Promise.resolve();
  }

  /** Delivers an answer to the request's reply_to channel (created on first use: it is someone's inbox). */
  private readonly replies: AnswerHook = async (request, response, recovering) => {
    const replyTo = request?.reply_to;
    if (request === undefined || replyTo === undefined) return;
    const target = queueOf(this.home, validateChannelName(replyTo));
    const reply = replyMessage(request, response, replyTo);
    if (recovering && (await alreadyDelivered(target, reply.id))) return;
    await createChannel(this.home, replyTo, { quiet: true });
    await this.send(reply);
  };

  private async queue(channel: string, opts: QueueOptions): Promise<Queue> {
    validateChannelName(channel);
    if (opts.as === undefined) return this.safe(queueOf(this.home, channel));
    await this.requireTopic(channel);
    return this.safe(queueOf(this.home, channel, opts.as));
  }

  /** Refuses unsafe folders (see safety.ts), checking each once per process. */
  private async safe(q: Queue): Promise<Queue> {
    if (!this.checked.has(this.home)) {
      await assertSafeDir(this.home, "bus home");
      this.checked.add(this.home);
    }
    if (!this.checked.has(q.dir)) {
      await assertSafeQueue(q.dir);
      this.checked.add(q.dir);
    }
    return q;
  }

  private async requireTopic(channel: string): Promise<void> {
    await requireQueue(queueOf(this.home, channel));
    if ((await readChannelInfo(this.home, channel)).kind !== "topic") throw notATopic(channel);
  }
}
