/**
 * The JetStream transport: the same `Transport` calls as the spool, over one NATS connection, so every
 * command works unchanged across machines when `ABQ_URL=nats://…` is set. The mapping (see
 * docs/multi-machine.md): channel = stream `ABQ_<name>` + durable pull consumer `work`; claim = pull one;
 * lease = the consumer's ack wait, renewed (`+WPI`) while this process holds the claim; respond = win the
 * message's KV state record, then ack; release = nak; topic = interest stream + one durable per subscriber.
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
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
import { claimNext, type Held, recordClaim, toClaimed, WORKING } from "./claim.ts";
import { natsError, natsSettings, openConnection } from "./connect.ts";
import type { NatsContext } from "./context.ts";
import { countState, findMessage, listState, pendingIds, queueStatus, statusAll } from "./inspect.ts";
import { BUCKET, recordKey } from "./names.ts";
import { publishRequest } from "./replies.ts";
import { type ReleaseOutcome, release, renew, respond } from "./respond.ts";
import { cancel } from "./withdraw.ts";
import { Arrivals, waitForAnswer } from "./wait.ts";

export interface NatsTransportOptions {
  /** nats://host:port (several, comma-separated, for a cluster). */
  url: string;
  /** Where claimed messages are materialised for handlers. Default: `$ABQ_HOME`, else ~/.abq. */
  home?: string | undefined;
  agent?: string | undefined;
}

/** A claim still open this long gets its state record written (see `recordClaim`). */
const RECORD_AFTER_MS = 100;

interface Queue {
  channel: string;
  subscriber: string | undefined;
}

export class NatsTransport implements Transport {
  private readonly held = new Map<string, Held>();
  private readonly arrivals = new Map<string, Arrivals>();
  private readonly checked = new Set<string>();
  private renewTimer: NodeJS.Timeout | undefined;

  private readonly ctx: NatsContext;

  private constructor(ctx: NatsContext) {
    this.ctx = ctx;
  }

  /** Connects (E_IO when the server is unreachable or lacks JetStream; E_USAGE for a malformed URL). */
  static async open(opts: NatsTransportOptions): Promise<NatsTransport> {
    const s = natsSettings(opts.url);
    const { nc, jsm } = await openConnection(s);
    try {
      const kv = await new Kvm(nc).create(BUCKET, { history: 1 });
      const js = jetstream(nc, { timeout: s.requestTimeoutMs });
      return new NatsTransport({ s, nc, jsm, js, kv, agent: opts.agent ?? "unknown", home: resolveHome(opts) });
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw natsError("cannot open the abq state bucket", s, err);
    }
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
    this.held.set(held.key, held);
    this.renewLeases();
    // Still held after a moment: write its record, so `ls processing`, `show` and other processes see it.
    setTimeout(() => void recordClaim(this.ctx, held), RECORD_AFTER_MS).unref();
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

  find(id: string, channel?: string) {
    return findMessage(this.ctx, id, channel);
  }

  async purge(channel: string, reason: string, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    const queueStream = (await channels.requireStream(this.ctx, q.channel)).config.retention === "workqueue";
    const moved: string[] = [];
    for (const id of await pendingIds(this.ctx, q)) {
      // One that was claimed meanwhile stays with its consumer.
      const ok = await cancel(this.ctx, q, id, reason, queueStream).then(
        () => true,
        () => false,
      );
      if (ok) moved.push(id);
    }
    return moved;
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
    // Claims we hand on (`abq recv` exits, the user answers later from another process) need their record.
    await Promise.all([...this.held.values()].map((h) => recordClaim(this.ctx, h)));
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    for (const a of this.arrivals.values()) a.close();
    this.arrivals.clear();
    // drain flushes the acks published without waiting; bounded, so a dead server cannot hold us here.
    const drained = this.ctx.nc.drain().catch(() => undefined);
    const timer = new Promise((r) => setTimeout(r, 2000).unref());
    await Promise.race([drained, timer]);
    if (!this.ctx.nc.isClosed()) await this.ctx.nc.close().catch(() => undefined);
  }

  /** While this process holds claims, tell the server every third of the ack wait that work goes on. */
  private renewLeases(): void {
    if (this.renewTimer) return;
    const every = Math.max(20, Math.floor(this.ctx.s.ackWaitMs / 3));
    this.renewTimer = setInterval(() => {
      if (this.held.size === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      for (const h of this.held.values()) this.ctx.nc.publish(h.claim.ack, WORKING);
    }, every);
    this.renewTimer.unref();
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
