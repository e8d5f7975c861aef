/**
 * Sending, receiving and answering: the calls behind `abq send`, `recv`, `respond`, `ask`, `cancel`.
 * Channel arguments accept the address forms `@self` and `@parent` (src/identity/address.ts).
 */
import { isAddress, resolveAddress } from "../identity/address.ts";
import { resolveHome } from "../spool/paths.ts";
import { AbqError } from "../protocol/errors.ts";
import { isId } from "../protocol/ids.ts";
import { newRequest } from "../protocol/new-request.ts";
import { formatTimestamp, PROTOCOL_VERSION } from "../protocol/schema.ts";
import type { MessageType, Request, Response, ResponseStatus } from "../protocol/schema.ts";
import { capable, type ClaimHandle } from "../lifecycle/transport.ts";
import type { Skipped } from "../lifecycle/records.ts";
import type { AttachmentInput } from "../attach/types.ts";
import { readBack, withBlobs, withContentReadBack } from "../attach/lazy.ts";
import {
  askInput,
  type CommonOptions,
  defaultTtl,
  withCapable,
  parseInput,
  recvInput,
  respondInput,
  sendInput,
  withTransport,
  callerAgent,
} from "./options.ts";

export interface SendOptions extends CommonOptions {
  /** Channel name, or `@self` / `@parent`. */
  channel: string;
  type: MessageType;
  /** Payload text. Default: "". */
  content?: string | undefined;
  /** Seconds the request stays valid; 0 = never. Default: the channel's ttl_s (0 unless configured). */
  ttl?: number | undefined;
  /** Channel (or `@self`) that should also receive the answer as a message. */
  replyTo?: string | undefined;
  /** Create the channel when it does not exist. Default: false (inboxes are always created). */
  create?: boolean | undefined;
  /** Sign with this bus's default key (`abq keygen`). Default: false. */
  sign?: boolean | undefined;
  /** Join this conversation (a message id: the thread's first message). Default: none, the message starts its own. */
  thread?: string | undefined;
  /** Files to send by reference (paths, or named streams); see docs/attachments.md. Default: none. */
  attachments?: readonly AttachmentInput[] | undefined;
  /**
   * The content as a stream, when it is too large to hold (the CLI's oversized stdin): stored as the
   * attachment `content.txt`, with a note in `content`. Default: none (`content` is the content).
   */
  contentSource?: AsyncIterable<Uint8Array> | undefined;
}

/** Delivers a request and returns it as stored. */
export async function send(opts: SendOptions): Promise<Request> {
  const channel = await resolveAddress(opts.channel, opts);
  const replyTo = opts.replyTo !== undefined ? await resolveAddress(opts.replyTo, opts) : undefined;
  const input = parseInput(sendInput(), { ...opts, channel, replyTo });
  const thread = opts.thread;
  if (thread !== undefined && !isId(thread))
    throw new AbqError("E_USAGE", `thread '${thread.slice(0, 70)}' is not a message id (expected req_<hex>)`);
  const agent = await callerAgent(opts);
  const message = newRequest({
    type: input.type,
    agent,
    cwd: opts.cwd,
    to: input.channel,
    content: input.content,
    ttl: input.ttl,
    replyTo: input.replyTo,
    thread,
  });
  return withTransport(
    opts,
    async (t) => {
      if (input.create || isAddress(opts.channel)) await capable(t, "admin").createChannel(input.channel);
      if (input.replyTo !== undefined && isAddress(opts.replyTo ?? ""))
        await capable(t, "admin").createChannel(input.replyTo);
      if (input.ttl === undefined) message.ttl = await defaultTtl(t, input.channel);
      const extra = { attachments: opts.attachments, source: opts.contentSource };
      return withBlobs(t, opts, message, "content", extra, async (m) => {
        if (!opts.sign) return t.send(m);
        const { signMessage } = await import("../security/sign.ts");
        return t.send(await signMessage(resolveHome(opts), m));
      });
    },
    agent,
  );
}

export interface RecvOptions extends CommonOptions {
  /** Channel name, or `@self` / `@parent`. */
  channel: string;
  /** Receive a topic subscriber's own copy. */
  as?: string | undefined;
  /** Block until a message arrives (up to `timeout`). Default: false. */
  wait?: boolean | undefined;
  /** Seconds to wait with `wait`. Default: 30. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Told about messages the claim expired or rejected on its way to one it could hand out. */
  onSkipped?: ((skipped: Skipped) => void) | undefined;
}

/** How often a blocked receive looks again even without a file event (events can be lost). */
export const BACKSTOP_MS = 250;

/**
 * Claims the oldest pending message. Throws E_EMPTY (nothing there) or E_TIMEOUT (waited in vain). The
 * handle's acts need an open transport: pass `transport` to keep using it, or answer later by id with
 * `respond`/`ack`/`release` (what the CLI does).
 */
export async function recv(opts: RecvOptions): Promise<ClaimHandle> {
  const input = parseInput(recvInput(), { ...opts, channel: await resolveAddress(opts.channel, opts) });
  const q = { as: input.as, onSkipped: opts.onSkipped };
  const agent = await callerAgent(opts);
  return withTransport(
    opts,
    async (t) => {
      if (isAddress(opts.channel)) await capable(t, "admin").createChannel(input.channel);
      const deadline = Date.now() + input.timeout * 1000;
      // Start watching before the first look, so a message landing right after it wakes us.
      if (input.wait) await t.waitForChange(input.channel, 0, undefined, q);
      for (;;) {
        const claimed = await t.claim(input.channel, q);
        if (claimed) return withContentReadBack(t, opts, claimed);
        if (!input.wait) throw new AbqError("E_EMPTY", `no pending messages in '${input.channel}'`);
        const left = deadline - Date.now();
        if (left <= 0 || input.signal?.aborted === true) {
          throw new AbqError("E_TIMEOUT", `no message arrived in '${input.channel}' within ${input.timeout}s`);
        }
        await t.waitForChange(input.channel, Math.min(left, BACKSTOP_MS), input.signal, q);
      }
    },
    agent,
  );
}

export interface RespondOptions extends CommonOptions {
  channel: string;
  id: string;
  /** Answer a topic subscriber's copy. */
  as?: string | undefined;
  /** Default: success. `pending` is a progress note that keeps the message claimed. */
  status?: ResponseStatus | undefined;
  result?: string | undefined;
  error?: string | null | undefined;
  /** The lease token from the claim: answer only while the claim is still ours (fenced). */
  lease?: string | undefined;
  /** Files to answer with, by reference (docs/attachments.md). Default: none. */
  attachments?: readonly AttachmentInput[] | undefined;
  /** The result as a stream, when it is too large to hold: stored as the attachment `result.txt`. */
  resultSource?: AsyncIterable<Uint8Array> | undefined;
}

/** Answers a claimed message and archives it. Throws E_CONFLICT when it was answered already. */
export async function respond(opts: RespondOptions): Promise<Response> {
  const input = parseInput(respondInput(), { ...opts, channel: await resolveAddress(opts.channel, opts) });
  const agent = await callerAgent(opts);
  const response: Response = {
    id: input.id,
    version: PROTOCOL_VERSION,
    status: input.status,
    from: { agent, pid: process.pid },
    result: input.result,
    error: input.error,
    timestamp: formatTimestamp(),
  };
  return withTransport(
    opts,
    async (t) => {
      const claim = await t.resume(input.channel, input.id, { as: input.as, lease: input.lease });
      const extra = { attachments: opts.attachments, source: opts.resultSource };
      return withBlobs(t, opts, response, "result", extra, (r) => claim.answer(r));
    },
    agent,
  );
}

export interface AskOptions extends SendOptions {
  /** Seconds to wait for the answer. Default: 30. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called with each progress note (`pending` answer) while waiting. */
  onPending?: ((note: Response) => void) | undefined;
  /** Called once the request is sent, before waiting. */
  onSent?: ((request: Request) => void) | undefined;
}

/**
 * Sends a request and waits for its answer: errors are data (`response.status === "error"`), only a
 * timeout throws (E_TIMEOUT; the request stays queued and can be withdrawn with `cancel`).
 */
export async function ask(opts: AskOptions): Promise<{ request: Request; response: Response }> {
  const { timeout } = parseInput(askInput(), opts);
  const request = await send(opts);
  opts.onSent?.(request);
  return withTransport(opts, async (t) => {
    const response = await t.waitForResponse(request.to, request.id, timeout * 1000, {
      signal: opts.signal,
      onPending: opts.onPending,
    });
    if (response) return { request, response: await readBack(t, opts, response, "result", request.id) };
    throw new AbqError("E_TIMEOUT", `no answer to ${request.id} in '${request.to}' within ${timeout}s`, {
      hint: `it stays queued; withdraw it with: abq cancel ${request.to} ${request.id}`,
    });
  });
}

/** Withdraws a message that no consumer has claimed yet. */
export async function cancel(opts: CommonOptions & { channel: string; id: string; as?: string }): Promise<void> {
  const channel = await resolveAddress(opts.channel, opts);
  const agent = await callerAgent(opts);
  await withCapable(opts, "admin", (t) => t.cancel(channel, opts.id, { as: opts.as }), agent);
}
