/**
 * `abq send --batch`: many messages from one process, so a script that sends thousands pays start-up,
 * identity and channel checks once. Each NDJSON line is `{"type", "content"?, "ttl"?, "reply_to"?,
 * "channel"?}` (channel defaults to the command's). A bad line stops the batch with its line number;
 * the lines before it are sent (and reported), nothing after it is.
 */
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import { resolveHome } from "../spool/paths.ts";
import { resolveAddress } from "../identity/address.ts";
import { AbqError, errnoCode, type ErrorCode } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import { describeIssues, formatTimestamp, MESSAGE_TYPES, PROTOCOL_VERSION } from "../protocol/schema.ts";
import type { Request } from "../protocol/schema.ts";
import { capable } from "../lifecycle/transport.ts";
import { type CommonOptions, defaultTtl, withTransport, callerAgent } from "./options.ts";
import { channelName } from "../protocol/names.ts";

const batchLine = lazy(() =>
  z.strictObject({
    type: z.enum(MESSAGE_TYPES, { error: `unknown type: use one of ${MESSAGE_TYPES.join(", ")}` }),
    content: z._default(z.string(), ""),
    ttl: z.optional(z.int().check(z.nonnegative())),
    reply_to: z.optional(z.string()),
    channel: z.optional(z.string()),
  }),
);

export interface BatchOptions extends CommonOptions {
  /** Default channel for lines that name none. */
  channel: string;
  /** NDJSON lines (or already-parsed objects). */
  lines: AsyncIterable<string> | Iterable<string>;
  create?: boolean | undefined;
  sign?: boolean | undefined;
  /** Called with each message once it is delivered. */
  onSent?: ((message: Request) => void) | undefined;
}

export async function sendBatch(opts: BatchOptions): Promise<{ sent: number }> {
  const defaultChannel = channelName(await resolveAddress(opts.channel, opts));
  const agent = await callerAgent(opts);
  const pwd = opts.cwd ?? process.cwd();
  const sign = opts.sign ? (await import("../security/sign.ts")).signMessage : undefined;
  return withTransport(
    opts,
    async (t) => {
      if (opts.create) await capable(t, "admin").createChannel(defaultChannel);
      const ttls = new Map<string, number>();
      let sent = 0;
      let lineNo = 0;
      // Messages handed to the transport but not yet reported, with their line numbers.
      const pending: { message: Request; line: number }[] = [];
      // Report a message as sent only once it is durable: after the flush that writes and fsyncs it.
      const settle = async (): Promise<void> => {
        const chunk = pending.splice(0);
        let done = chunk.length;
        let failure: unknown;
        await t.flush().catch((err: unknown) => {
          failure = err;
          done = committedBefore(err);
        });
        for (const { message } of chunk.slice(0, done)) opts.onSent?.(message);
        sent += done;
        if (failure !== undefined) throw batchError(chunk[done]?.line ?? lineNo, sent, failure);
      };
      // Which line a failure belongs to: the one being sent, or (while reading) the next one.
      let reading = true;
      let stopped: AbqError | undefined;
      try {
        for await (const raw of opts.lines) {
          reading = false;
          lineNo++;
          if (raw.trim() === "") {
            reading = true;
            continue;
          }
          let json: unknown;
          try {
            json = JSON.parse(raw);
          } catch {
            throw batchError(lineNo, sent + pending.length, "not JSON");
          }
          const parsed = batchLine().safeParse(json);
          if (!parsed.success) throw batchError(lineNo, sent + pending.length, describeIssues(parsed.error));
          const line = parsed.data;
          const channel =
            line.channel !== undefined ? channelName(await resolveAddress(line.channel, opts)) : defaultChannel;
          let ttl = line.ttl ?? ttls.get(channel);
          if (ttl === undefined) {
            ttl = await defaultTtl(t, channel);
            ttls.set(channel, ttl);
          }
          const replyTo =
            line.reply_to !== undefined ? channelName(await resolveAddress(line.reply_to, opts)) : undefined;
          let message: Request = {
            id: newId(),
            version: PROTOCOL_VERSION,
            type: line.type,
            from: { agent, pid: process.pid, pwd },
            to: channel,
            content: line.content,
            timestamp: formatTimestamp(),
            ttl,
            ...(replyTo !== undefined ? { reply_to: replyTo } : {}),
          };
          if (sign) message = await sign(resolveHome(opts), message);
          pending.push({ message: await t.send(message, { batch: true }), line: lineNo });
          reading = true;
          if (pending.length >= CHUNK) await settle();
        }
      } catch (err) {
        // Every failure names its line and what went before it, so a retry can skip what was sent.
        stopped =
          err instanceof BatchLineError ? err : batchError(reading ? lineNo + 1 : lineNo, sent + pending.length, err);
      }
      // What was accepted before a failure is still written and reported (a failure writing it wins).
      await settle();
      if (stopped !== undefined) throw stopped;
      return { sent };
    },
    agent,
  );
}

/** Messages a transport writes and fsyncs together: one folder fsync (and overlapping file fsyncs) each. */
const CHUNK = 256;

/** How many of the flushed messages were delivered before `err` (the spool says; otherwise none). */
function committedBefore(err: unknown): number {
  const n = (err as { committed?: unknown } | null)?.committed;
  return typeof n === "number" && n >= 0 ? n : 0;
}

/** A batch failure: the line it stopped at, and how many messages before it were sent. */
class BatchLineError extends AbqError {}

const LINE_HINT = 'each line: {"type":"signal","content":"…"} with optional ttl, reply_to, channel';

/** `problem` is text (a bad line) or what a line's send threw, whose code (and exit code) it keeps. */
function batchError(line: number, sent: number, problem: unknown): AbqError {
  if (typeof problem === "string") return lineError("E_USAGE", line, sent, problem, LINE_HINT, undefined);
  if (problem instanceof AbqError) return lineError(problem.code, line, sent, problem.message, problem.hint, problem);
  // A system call that failed is an I/O error; anything else is a bug, reported as such (with its stack).
  if (errnoCode(problem) === undefined || !(problem instanceof Error)) throw problem;
  return lineError("E_IO", line, sent, problem.message, undefined, problem);
}

function lineError(
  code: ErrorCode,
  line: number,
  sent: number,
  text: string,
  hint: string | undefined,
  cause: unknown,
): AbqError {
  return new BatchLineError(code, `line ${line}: ${text} (${sent} message(s) before it were sent)`, {
    ...(hint !== undefined ? { hint } : {}),
    cause,
  });
}
