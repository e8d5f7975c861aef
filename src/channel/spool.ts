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
  ListState,
  QueueOptions,
  RespondResult,
  Transport,
  WaitResponseOptions,
} from "../transport.ts";
import { type AnswerHook, waitForAnswer } from "./answers.ts";
import { ClaimCursor, claimNext, releaseClaim } from "./claim.ts";
import { deliver } from "./deliver.ts";
import { type DurabilityOptions, resolveFsync, resolveMaxBytes, tryRename } from "./files.ts";
import { countState, findMessage, listState, queueStatus, statusAll } from "./inspect.ts";
import { FolderSignal } from "./notify.ts";
import { type HomeOptions, type Queue, queueOf, resolveHome, validateChannelName } from "./paths.ts";
import { archiveReason, purgeQueue } from "./purge.ts";
import { createChannel, initHome, listChannels, readChannelInfo, removeChannel, requireQueue } from "./registry.ts";
import { alreadyDelivered, replyMessage } from "./reply.ts";
import { respondTo } from "./respond.ts";
import { finishFanouts, notATopic, publish, subscribe, unsubscribe } from "./topic.ts";

export interface FsTransportOptions extends HomeOptions, DurabilityOptions {
  /** Largest message file accepted, in bytes. Default: `ABQ_MAX_BYTES` or 4 MiB. */
  maxBytes?: number | undefined;
  /** Who is acting, recorded in reason files (purge, cancel). */
  agent?: string | undefined;
}

export class FsTransport implements Transport {
  readonly home: string;
  private readonly sync: boolean;
  private readonly maxBytes: number;
  private readonly agent: string;
  private readonly cursors = new Map<string, ClaimCursor>();
  private readonly signals = new Map<string, FolderSignal>();

  constructor(opts: FsTransportOptions = {}) {
    this.home = resolveHome(opts);
    this.sync = resolveFsync(opts);
    this.maxBytes = opts.maxBytes ?? resolveMaxBytes();
    this.agent = opts.agent ?? "unknown";
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

  async send(message: Request): Promise<Request> {
    const q = queueOf(this.home, message.to);
    if ((await readChannelInfo(this.home, message.to)).kind === "topic") {
      return publish(this.home, q, message, this.sync);
    }
    return deliver(q, message, { sync: this.sync, maxBytes: this.maxBytes });
  }

  async claim(channel: string, opts: QueueOptions = {}): Promise<Claimed | null> {
    const q = await this.queue(channel, opts);
    if (q.subscriber !== undefined) await finishFanouts(this.home, channel);
    const key = `${channel}\0${q.subscriber ?? ""}`;
    let cursor = this.cursors.get(key);
    if (!cursor) this.cursors.set(key, (cursor = new ClaimCursor()));
    const claimed = await claimNext(q, cursor, { sync: this.sync, maxBytes: this.maxBytes, onAnswered: this.replies });
    return claimed && q.subscriber !== undefined ? { ...claimed, subscriber: q.subscriber } : claimed;
  }

  async respond(channel: string, response: Response, opts: QueueOptions = {}): Promise<RespondResult> {
    const q = await this.queue(channel, opts);
    return respondTo(q, response, { sync: this.sync, maxBytes: this.maxBytes, onAnswered: this.replies });
  }

  async release(channel: string, id: string, opts: QueueOptions & { retry?: boolean | undefined } = {}): Promise<void> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    if (!(await releaseClaim(q, id, this.sync, opts.retry ?? false))) {
      throw new AbqError("E_NO_MESSAGE", `message ${id} is not claimed in channel '${channel}'`);
    }
    this.cursors.get(`${channel}\0${q.subscriber ?? ""}`)?.reset(); // it is older than the cursor's listing
  }

  /** Withdraws a pending (unclaimed) message: it moves to the archive with a reason, and waiters stop. */
  async cancel(channel: string, id: string, opts: QueueOptions = {}): Promise<void> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    if (await tryRename(join(q.dir, "requests", `${id}.json`), join(q.dir, "archive", `${id}_request.json`))) {
      await archiveReason(q.dir, id, { reason: `cancelled by ${this.agent}`, by: this.agent });
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

  async list(channel: string, state: ListState, opts: { limit: number; oldestFirst: boolean } & QueueOptions) {
    return listState(await this.queue(channel, opts), state, { ...opts, maxBytes: this.maxBytes });
  }

  async count(channel: string, state: ListState, opts: QueueOptions = {}) {
    return countState(await this.queue(channel, opts), state);
  }

  find(id: string, channel?: string) {
    return findMessage(this.home, id, channel, this.maxBytes);
  }

  async purge(channel: string, reason: string, opts: QueueOptions = {}) {
    return purgeQueue(await this.queue(channel, opts), { reason, by: this.agent }, this.sync);
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

  close(): Promise<void> {
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
    if (opts.as === undefined) return queueOf(this.home, channel);
    await this.requireTopic(channel);
    return queueOf(this.home, channel, opts.as);
  }

  private async requireTopic(channel: string): Promise<void> {
    await requireQueue(queueOf(this.home, channel));
    if ((await readChannelInfo(this.home, channel)).kind !== "topic") throw notATopic(channel);
  }
}
