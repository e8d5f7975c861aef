/**
 * Sending, receiving and answering: the calls behind `abq send`, `abq recv` and `abq respond`.
 */
import { AbqError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import { formatTimestamp, PROTOCOL_VERSION } from "../protocol/schema.ts";
import type { MessageType, Request, Response, ResponseStatus } from "../protocol/schema.ts";
import type { Claimed, Transport } from "../transport.ts";
import { resolveIdentity } from "../identity/index.ts";
import { type CommonOptions, parseInput, RecvInput, RespondInput, SendInput, withTransport } from "./options.ts";

export interface SendOptions extends CommonOptions {
  channel: string;
  type: MessageType;
  /** Payload text. Default: "". */
  content?: string | undefined;
  /** Seconds the request stays valid. Default: 300. */
  ttl?: number | undefined;
  /** Channel that should also receive the answer as a message. */
  replyTo?: string | undefined;
  /** Create the channel when it does not exist. Default: false. */
  create?: boolean | undefined;
}

/** Delivers a request and returns it as stored. */
export async function send(opts: SendOptions): Promise<Request> {
  const input = parseInput(SendInput, opts);
  const agent = (await resolveIdentity({ cwd: opts.cwd })).agent;
  const message: Request = {
    id: newId(),
    version: PROTOCOL_VERSION,
    type: input.type,
    from: { agent, pid: process.pid, pwd: opts.cwd ?? process.cwd() },
    to: input.channel,
    content: input.content,
    timestamp: formatTimestamp(),
    ttl: input.ttl,
    ...(input.replyTo !== undefined ? { reply_to: input.replyTo } : {}),
  };
  return withTransport(opts, async (t) => {
    if (input.create) await t.createChannel(input.channel);
    return t.send(message);
  });
}

export interface RecvOptions extends CommonOptions {
  channel: string;
  /** Block until a message arrives (up to `timeout`). Default: false. */
  wait?: boolean | undefined;
  /** Seconds to wait with `wait`. Default: 30. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Claims the oldest pending message. Throws E_EMPTY (nothing there) or E_TIMEOUT (waited in vain). */
export async function recv(opts: RecvOptions): Promise<Claimed> {
  const input = parseInput(RecvInput, opts);
  return withTransport(opts, async (t) => {
    const deadline = Date.now() + input.timeout * 1000;
    // Start watching before the first look, so a message landing right after it wakes us.
    if (input.wait) await t.waitForChange(input.channel, 0);
    for (;;) {
      const claimed = await t.claim(input.channel);
      if (claimed) return claimed;
      if (!input.wait) throw new AbqError("E_EMPTY", `no pending messages in '${input.channel}'`);
      const left = deadline - Date.now();
      if (left <= 0 || input.signal?.aborted === true) {
        throw new AbqError("E_TIMEOUT", `no message arrived in '${input.channel}' within ${input.timeout}s`);
      }
      await t.waitForChange(input.channel, Math.min(left, BACKSTOP_MS), input.signal);
    }
  });
}

/** How often a blocked receive looks again even without a file event (events can be lost). */
export const BACKSTOP_MS = 250;

export interface RespondOptions extends CommonOptions {
  channel: string;
  id: string;
  /** Default: success. `pending` is a progress note that keeps the message claimed. */
  status?: ResponseStatus | undefined;
  result?: string | undefined;
  error?: string | null | undefined;
}

/** Answers a claimed message and archives it. Throws E_CONFLICT when it was answered already. */
export async function respond(opts: RespondOptions): Promise<Response> {
  const input = parseInput(RespondInput, opts);
  const agent = (await resolveIdentity({ cwd: opts.cwd })).agent;
  const response: Response = {
    id: input.id,
    version: PROTOCOL_VERSION,
    status: input.status,
    from: { agent, pid: process.pid },
    result: input.result,
    error: input.error,
    timestamp: formatTimestamp(),
  };
  return withTransport(opts, async (t) => (await t.respond(input.channel, response)).response);
}

/** Puts a claimed message back in its queue (for a consumer that cannot handle it now). */
export async function release(opts: CommonOptions & { channel: string; id: string }): Promise<void> {
  await withTransport(opts, (t: Transport) => t.release(opts.channel, opts.id));
}
