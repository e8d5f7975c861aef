/**
 * The JetStream transport: the same `Transport` calls as the spool, over one NATS connection, so every
 * command works unchanged across machines when `ABQ_URL=nats://…` is set. The mapping (see
 * docs/multi-machine.md): channel = stream `ABQ_<name>` + durable pull consumer `work`; claim = pull one;
 * lease = the consumer's ack wait, renewed (`+WPI`) while this process holds the claim; respond = win the
 * message's KV state record, then ack; release = nak; topic = interest stream + one durable per subscriber.
 */
import { resolveHome, validateChannelName, validateSubscriberName } from "../channel/paths.ts";
import { AbqError } from "../protocol/errors.ts";
import { isId } from "../protocol/ids.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { Lease } from "../channel/lease.ts";
import type {
  Claimed,
  FailureInfo,
  ListState,
  QueueOptions,
  RespondResult,
  Transport,
  WaitResponseOptions,
} from "../transport.ts";
import * as channels from "./channels.ts";
import { claimNext } from "./claim.ts";
import { HeldClaims, toClaimed } from "./held.ts";
import { closeConnection, openContext } from "./connect.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { countState, findMessage, listState, queueStatus, statusAll } from "./inspect.ts";
import { recordKey } from "./names.ts";
import { publishRequest } from "./replies.ts";
import { type ReleaseOutcome, release, renew, respond } from "./respond.ts";
import { cancel, purge } from "./withdraw.ts";
import { Arrivals, waitForAnswer } from "./wait.ts";

export interface NatsTransportOptions {
  /** nats://host:port (several, comma-separated, for a cluster). */
  url: string;
  /** Where claimed messages are materialised for handlers. Default: `$ABQ_HOME`, else ~/.abq. */
  home?: string | undefined;
  agent?: string | undefined;
}

export class NatsTransport implements Transport {
  private readonly held: HeldClaims;
  private readonly arrivals = new Map<string, Arrivals>();
  private readonly checked = new Set<string>();

  private readonly ctx: NatsContext;

  private constructor(ctx: NatsContext) {
    this.ctx = ctx;
    this.held = new HeldClaims(ctx);
  }

  /** Connects (E_IO when the server is unreachable or lacks JetStream; E_USAGE for a malformed URL). */
  static async open(opts: NatsTransportOptions): Promise<NatsTransport> {
    return new NatsTransport(await openContext(opts.url, resolveHome(opts), opts.agent ?? "unknown"));
  }

  get url(): string {
    return this.ctx.s.display;
  }

  async init() {
    const { created } = await channels.createChannel(this.ctx, "broadcast", {
      description: "Global broadcast channel",
      topic: true,
    });
    return { home: this.ctx.s.display, created };
  }

  createChannel(name: string, opts: { description?: string | undefined; topic?: boolean | undefined } = {}) {
    return channels.createChannel(this.ctx, validateChannelName(name), opts);
  }

  subscribe(topic: string, name: string) {
    return channels.subscribe(this.ctx, validateChannelName(topic), validateSubscriberName(name));
  }

  unsubscribe(topic: string, name: string) {
    return channels.unsubscribe(this.ctx, validateChannelName(topic), validateSubscriberName(name));
  }

  listChannels() {
    return channels.listChannels(this.ctx);
  }

  async channelInfo(name: string) {
    const si = await channels.requireStream(this.ctx, validateChannelName(name));
    const info = await channels.infoOf(this.ctx, si);
    return { ...info, status: await queueStatus(this.ctx, { channel: name, subscriber: undefined }) };
  }

  async removeChannel(name: string) {
    await channels.requireStream(this.ctx, validateChannelName(name));
    const last = await queueStatus(this.ctx, { channel: name, subscriber: undefined });
    await channels.removeChannel(this.ctx, name);
    return last;
  }

  send(message: Request): Promise<Request> {
    return publishRequest(this.ctx, message);
  }

  async claim(channel: string, opts: QueueOptions = {}): Promise<Claimed | null> {
    const q = await this.queue(channel, opts);
    const held = await claimNext(this.ctx, q.channel, q.subscriber);
    if (!held) return null;
    this.held.add(held);
    return toClaimed(held);
  }

  async respond(
    channel: string,
    response: Response,
    opts: QueueOptions & { lease?: string | undefined } = {},
  ): Promise<RespondResult> {
    const q = await this.queue(channel, opts);
    const key = recordKey(q.channel, q.subscriber, response.id);
    try {
      return await respond(this.ctx, q, response, this.held.get(key), opts.lease);
    } catch (err) {
      if (err instanceof AbqError && err.code === "E_CONFLICT") this.held.delete(key); // not ours any more
      throw err;
    } finally {
      if (response.status !== "pending") this.held.delete(key);
    }
  }

  async release(
    channel: string,
    id: string,
    opts: QueueOptions & { retry?: boolean | undefined; failure?: FailureInfo | undefined } = {},
  ): Promise<ReleaseOutcome> {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    const key = recordKey(q.channel, q.subscriber, id);
    try {
      return await release(this.ctx, q, id, this.held.get(key), opts.retry === true ? opts : undefined);
    } finally {
      this.held.delete(key);
    }
  }

  async renew(channel: string, id: string, token: string, opts: QueueOptions = {}): Promise<Lease> {
    const q = await this.queue(channel, opts);
    return renew(this.ctx, q, id, token, this.held.get(recordKey(q.channel, q.subscriber, id)));
  }

  async cancel(channel: string, id: string, opts: QueueOptions = {}) {
    if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
    const q = await this.queue(channel, opts);
    const queueStream = (await channels.requireStream(this.ctx, q.channel)).config.retention === "workqueue";
    await cancel(this.ctx, q, id, `cancelled by ${this.ctx.agent}`, queueStream);
  }

  status() {
    return statusAll(this.ctx);
  }

  async list(channel: string, state: ListState, opts: { limit: number; oldestFirst: boolean } & QueueOptions) {
    return listState(this.ctx, await this.queue(channel, opts), state, opts);
  }

  async count(channel: string, state: ListState, opts: QueueOptions = {}) {
    return countState(this.ctx, await this.queue(channel, opts), state);
  }

  async requireChannel(channel: string, opts: QueueOptions = {}) {
    await this.count(channel, "requests", opts); // a stream lookup here: cheap at any backlog
  }

  find(id: string, channel?: string) {
    return findMessage(this.ctx, id, channel);
  }

  async purge(channel: string, reason: string, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    const queueStream = (await channels.requireStream(this.ctx, q.channel)).config.retention === "workqueue";
    return purge(this.ctx, q, reason, queueStream);
  }

  async waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    let a = this.arrivals.get(q.channel);
    if (!a) this.arrivals.set(q.channel, (a = await Arrivals.subscribe(this.ctx, q.channel)));
    await a.wait(timeoutMs, signal);
  }

  waitForResponse(channel: string, id: string, timeoutMs: number, opts: WaitResponseOptions = {}) {
    return waitForAnswer(this.ctx, validateChannelName(channel), id, timeoutMs, opts);
  }

  /** Stops renewing leases (claims still held stay claimed until their ack wait runs out) and disconnects. */
  async close(): Promise<void> {
    await this.held.close();
    for (const a of this.arrivals.values()) a.close();
    this.arrivals.clear();
    await closeConnection(this.ctx.nc);
  }

  private async queue(channel: string, opts: QueueOptions): Promise<Queue> {
    const q = {
      channel: validateChannelName(channel),
      subscriber: opts.as === undefined ? undefined : validateSubscriberName(opts.as),
    };
    const tag = `${q.channel}\0${q.subscriber ?? ""}`;
    if (!this.checked.has(tag)) {
      await channels.requireConsumer(this.ctx, q.channel, q.subscriber);
      this.checked.add(tag);
    }
    return q;
  }
}
