/**
 * The filesystem transport: the spool under `$ABQ_HOME`, behind the transport contract
 * (src/lifecycle/transport.ts). This file is the core (send, claim, resume, wait, close); the
 * capabilities are in spool-views.ts. It holds only per-process caches; all shared state is the files.
 */
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { type ChannelName, channelName, messageId } from "../protocol/names.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type {
  Capability,
  ClaimHandle,
  ClaimOptions,
  QueueOptions,
  TransportCore,
  WaitResponseOptions,
} from "../lifecycle/transport.ts";
import { waitForAnswer } from "./answers.ts";
import { SpoolClaim } from "./claim-handle.ts";
import { ClaimCursor } from "./claim.ts";
import { deliver } from "./deliver.ts";
import { logEvent } from "./events.ts";
import { readLease } from "./lease.ts";
import { claimWork } from "./leased-work.ts";
import { FolderSignal } from "./notify.ts";
import { queueOf } from "./paths.ts";
import { readRequest } from "./read.ts";
import { createChannel, readChannelInfo, requireQueue } from "./registry.ts";
import { alreadyDelivered, replyMessage } from "./reply.ts";
import { explainNotClaimed } from "./respond.ts";
import { BatchDelivery } from "./send-batch.ts";
import { SpoolViews } from "./spool-views.ts";
import { finishFanouts, publish } from "./topic.ts";
import { at } from "./transitions.ts";

export type { FsTransportOptions } from "./spool-base.ts";

const CAPABILITIES: ReadonlySet<Capability> = new Set(["admin", "inspect", "supervise", "topics"]);

export class FsTransport extends SpoolViews implements TransportCore {
  readonly scheme = "file";
  readonly capabilities = CAPABILITIES;
  /** Channel kinds seen by batch sends (a batch does not re-read channel.json per message). */
  private readonly kinds = new Map<string, { kind: "queue" | "topic"; at: number }>();
  /** Queue messages sent with `batch`, written at the next flush (send-batch.ts). */
  private readonly batch = new BatchDelivery({ sync: this.sync, maxBytes: this.maxBytes });

  async send(message: Request, opts: { batch?: boolean | undefined } = {}): Promise<Request> {
    return this.sendTo(channelName(message.to), message, opts);
  }

  /** `send`, to `message.to` already checked (as `to`). */
  private async sendTo(to: ChannelName, message: Request, opts: { batch?: boolean | undefined }): Promise<Request> {
    const q = await this.safe(queueOf(this.home, to));
    // The channel's kind decides queue vs topic delivery; re-read it at most every 2 s per process.
    const known = this.kinds.get(to);
    let kind = known?.kind;
    if (known === undefined || (!opts.batch && Date.now() - known.at > 2000)) {
      kind = (await readChannelInfo(this.home, to)).kind;
      this.kinds.set(to, { kind, at: Date.now() });
    }
    if (opts.batch === true) {
      if (kind === "queue") return this.batch.add(q, message);
    } else await this.flush(); // held batch messages go first (a batch's topic lines go to other folders)
    const sent =
      kind === "topic"
        ? await publish(this.home, q, message, this.sync)
        : await deliver(q, message, { sync: this.sync, maxBytes: this.maxBytes });
    logEvent(q, "sent", message.id, message.from.agent);
    return sent;
  }

  /** Writes the held batch messages (BatchCommitError says how many made it if it fails part way). */
  async flush(): Promise<void> {
    if (this.batch.pending > 0) await this.batch.commit();
  }

  async claim(channel: string, opts: ClaimOptions = {}): Promise<ClaimHandle | null> {
    const q = await this.queue(channel, opts);
    if (q.subscriber !== undefined) await finishFanouts(this.home, q.channel);
    const key = this.cursorKey(q);
    let cursor = this.cursors.get(key);
    if (!cursor) this.cursors.set(key, (cursor = new ClaimCursor()));
    const claimed = await claimWork(this.work, q, cursor, opts.onSkipped);
    if (!claimed) return null;
    const data = q.subscriber !== undefined ? { ...claimed, subscriber: q.subscriber } : claimed;
    // A released message is older than the cursor's listing: the next claim must read the folder again.
    return new SpoolClaim(this.work, q, data, { onSettled: () => this.cursors.get(key)?.reset() });
  }

  /** A handle on a message claimed by another process (`abq recv` then `abq respond|ack|release`). */
  async resume(channel: string, messageRef: string, opts: QueueOptions & { lease?: string | undefined } = {}) {
    const id = messageId(messageRef);
    const q = await this.queue(channel, opts);
    await requireQueue(q);
    const path = at.claimed(q, id);
    const parsed = await readRequest(path, this.maxBytes, id).catch(() => undefined);
    if (parsed === undefined)
      throw await explainNotClaimed(q, id, { sync: this.sync, maxBytes: this.maxBytes, onAnswered: this.work.replies });
    if (!parsed.ok) throw new AbqError("E_BAD_MESSAGE", `claimed message ${id} is not valid: ${parsed.problem}`);
    const lease = await readLease(q, id);
    const claimed = { channel: q.channel, subscriber: q.subscriber, message: parsed.value, path, lease };
    const key = this.cursorKey(q);
    return new SpoolClaim(this.work, q, claimed, {
      token: opts.lease,
      onSettled: () => this.cursors.get(key)?.reset(),
    });
  }

  async waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal, opts: QueueOptions = {}) {
    const q = await this.queue(channel, opts);
    const key = this.cursorKey(q);
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
    const q = queueOf(this.home, channelName(channel));
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
  protected async deliverReply(request: Request | undefined, response: Response, recovering: boolean): Promise<void> {
    if (request?.reply_to === undefined) return;
    const replyTo = channelName(request.reply_to); // read from a message file: checked here
    const target = queueOf(this.home, replyTo);
    const reply = replyMessage(request, response, replyTo);
    if (recovering && (await alreadyDelivered(target, reply.id))) return;
    await createChannel(this.home, replyTo, { quiet: true });
    await this.sendTo(replyTo, reply, {});
  }
}
