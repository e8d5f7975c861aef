/**
 * The JetStream transport: the transport contract over one NATS connection, so every command works
 * unchanged across machines when `ABQ_URL=nats://…` is set. The mapping (see docs/multi-machine.md):
 * channel = stream `ABQ_<name>` + durable pull consumer `work`; claim = pull one, handed out as a
 * NatsClaim (claim-handle.ts: respond/ack = win the KV state record, then `+ACK`; release = `-NAK`;
 * term = `+TERM`; renew = `+WPI`); topic = interest stream + one durable per subscriber. No
 * supervision capability: JetStream's redelivery and the claim-time checks do that work.
 */
import { resolveHome } from "../spool/paths.ts";
import { channelName, messageId, subscriberName } from "../protocol/names.ts";
import type { Policy } from "../protocol/policy.ts";
import type { Request } from "../protocol/schema.ts";
import type { Skipped } from "../lifecycle/records.ts";
import type {
  Capability,
  ChannelAdmin,
  ClaimOptions,
  Inspection,
  ListState,
  QueueOptions,
  Topics,
  TransportCore,
  WaitResponseOptions,
} from "../lifecycle/transport.ts";
import * as channels from "./channels.ts";
import { claimNext } from "./claim.ts";
import { NatsClaim, resumeClaim } from "./claim-handle.ts";
import { closeConnection, openContext } from "./connect.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { findMessage } from "./find.ts";
import { HeldClaims, recordClaim } from "./held-claims.ts";
import { countState, listState, queueStatus, statusAll } from "./inspect.ts";
import { recordKey } from "./names.ts";
import { publishRequest } from "./replies.ts";
import { appliedPolicy } from "./settle.ts";
import { cancel, purge } from "./withdraw.ts";
import { Arrivals, waitForAnswer } from "./wait.ts";
import type { BlobStore } from "../attach/store.ts";
import { registerStoreSource } from "../attach/source.ts";

export interface NatsTransportOptions {
  /** nats://host:port (several, comma-separated, for a cluster). */
  url: string;
  /** Where claimed messages are materialised for handlers. Default: `$ABQ_HOME`, else ~/.abq. */
  home?: string | undefined;
  agent?: string | undefined;
}

export class NatsTransport implements TransportCore, ChannelAdmin, Inspection, Topics {
  readonly scheme = "nats";
  readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(["admin", "inspect", "topics"]);
  private readonly held: HeldClaims;
  private readonly arrivals = new Map<string, Arrivals>();
  private readonly checked = new Set<string>();

  private readonly ctx: NatsContext;

  private constructor(ctx: NatsContext) {
    this.ctx = ctx;
    this.held = new HeldClaims(ctx);
    registerStoreSource(() => this.attachmentStore());
  }

  private blobs: Promise<BlobStore> | undefined;

  /** The Object Store of attachments (src/nats/attach-store.ts), opened on first use. */
  attachmentStore(): Promise<BlobStore> {
    return (this.blobs ??= import("./attach-store.ts").then((m) => m.natsBlobStore(this.ctx)));
  }

  /** Connects (E_IO when the server is unreachable or lacks JetStream; E_USAGE for a malformed URL). */
  static async open(opts: NatsTransportOptions): Promise<NatsTransport> {
    return new NatsTransport(await openContext(opts.url, resolveHome(opts), opts.agent ?? "unknown"));
  }

  get url(): string {
    return this.ctx.s.display;
  }

  async init() {
    const { created } = await channels.createChannel(this.ctx, channelName("broadcast"), {
      description: "Global broadcast channel",
      topic: true,
    });
    return { home: this.ctx.s.display, created };
  }

  createChannel(name: string, opts: { description?: string | undefined; topic?: boolean | undefined } = {}) {
    return channels.createChannel(this.ctx, channelName(name), opts);
  }

  subscribe(topic: string, name: string) {
    return channels.subscribe(this.ctx, channelName(topic), subscriberName(name));
  }

  unsubscribe(topic: string, name: string) {
    return channels.unsubscribe(this.ctx, channelName(topic), subscriberName(name));
  }

  listChannels() {
    return channels.listChannels(this.ctx);
  }

  async channelInfo(channel: string) {
    const name = channelName(channel);
    const si = await channels.requireStream(this.ctx, name);
    const info = await channels.infoOf(this.ctx, si, name);
    return { ...info, status: await queueStatus(this.ctx, { channel: name, subscriber: undefined }) };
  }

  async removeChannel(channel: string) {
    const name = channelName(channel);
    await channels.requireStream(this.ctx, name);
    const last = await queueStatus(this.ctx, { channel: name, subscriber: undefined });
    await channels.removeChannel(this.ctx, name);
    return last;
  }

  /** Publishes are acknowledged by the server (stored) before `send` returns, so a batch is durable already. */
  async send(message: Request, _opts: { batch?: boolean | undefined } = {}): Promise<Request> {
    return publishRequest(this.ctx, channelName(message.to), message);
  }

  async flush(): Promise<void> {}

  /** What JetStream applies (from the `ABQ_NATS_*` settings); other fields are the defaults. */
  async policy(channel: string): Promise<Policy> {
    await channels.requireStream(this.ctx, channelName(channel));
    return appliedPolicy(this.ctx.s);
  }

  async claim(channel: string, opts: ClaimOptions = {}): Promise<NatsClaim | null> {
    const q = await this.queue(channel, opts);
    const skipped: Skipped = { expired: [], rejected: [] };
    try {
      const held = await claimNext(this.ctx, q.channel, q.subscriber, skipped);
      if (!held) return null;
      this.held.add(held);
      const { request: message, path, lease } = held;
      const onSettled = () => this.held.delete(held.key);
      return new NatsClaim(this.ctx, q, { message, path, lease, held, token: lease.token, onSettled });
    } finally {
      if (skipped.rejected.length > 0) opts.onSkipped?.(skipped);
    }
  }

  /** A claim made earlier, maybe by another process (`abq recv`, then `abq respond|ack|release`). */
  async resume(
    channel: string,
    messageRef: string,
    opts: QueueOptions & { lease?: string | undefined } = {},
  ): Promise<NatsClaim> {
    const id = messageId(messageRef);
    const q = await this.queue(channel, opts);
    const key = recordKey(q.channel, q.subscriber, id);
    return resumeClaim(this.ctx, q, id, this.held.get(key), opts.lease, () => this.held.delete(key));
  }

  async cancel(channel: string, messageRef: string, opts: QueueOptions = {}) {
    const id = messageId(messageRef);
    const q = await this.queue(channel, opts);
    const queueStream = (await channels.requireStream(this.ctx, q.channel)).config.retention === "workqueue";
    // Our own claim of it may not be recorded yet (records are lazy): record it first, so the cancel
    // sees a claimed message and refuses, instead of winning the record and losing our claim.
    const held = this.held.get(recordKey(q.channel, q.subscriber, id));
    if (held) await recordClaim(this.ctx, held);
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

  async find(id: string, channel?: string) {
    return findMessage(this.ctx, messageId(id), channel === undefined ? undefined : channelName(channel));
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
    return waitForAnswer(this.ctx, channelName(channel), id, timeoutMs, opts);
  }

  /** Stops renewing leases (claims still held stay claimed until their ack wait runs out) and disconnects. */
  async close(): Promise<void> {
    await this.held.close();
    for (const a of this.arrivals.values()) a.close();
    this.arrivals.clear();
    registerStoreSource(undefined);
    await closeConnection(this.ctx.nc);
  }

  /** The boundary of the queue methods: validates the channel (and subscriber) name a caller gave. */
  private async queue(channel: string, opts: QueueOptions): Promise<Queue> {
    const q = {
      channel: channelName(channel),
      subscriber: opts.as === undefined ? undefined : subscriberName(opts.as),
    };
    const tag = `${q.channel}\0${q.subscriber ?? ""}`;
    if (!this.checked.has(tag)) {
      await channels.requireConsumer(this.ctx, q.channel, q.subscriber);
      this.checked.add(tag);
    }
    return q;
  }
}
