/**
 * Publishing requests, and the reply_to copies of answers. A request goes to its own subject
 * (`abq.<channel>.req.<id>`) with its id as `Nats-Msg-Id`, so a retried publish (after a timeout, or a
 * reconnect) is dropped by the server's de-duplication window instead of delivered twice; the payload is
 * exactly the bytes the filesystem transport would write to `requests/<id>.json`.
 */
import { serialize } from "../spool/deliver.ts";
import { replyMessage } from "../spool/reply.ts";
import { AbqError } from "../protocol/errors.ts";
import { type ChannelName, channelName } from "../protocol/names.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { requireStream, createChannel } from "./channels.ts";
import { isTransient, natsError } from "./connect.ts";
import type { NatsContext } from "./context.ts";
import { requestSubject, streamName } from "./names.ts";

/** Publishes `message` to its channel `to` (its `to` field, already checked). */
export async function publishRequest(ctx: NatsContext, to: ChannelName, message: Request): Promise<Request> {
  const data = new TextEncoder().encode(serialize(message));
  const max = ctx.nc.info?.max_payload ?? 1024 * 1024;
  if (data.length > max) {
    throw new AbqError("E_TOO_LARGE", `message is ${data.length} bytes, over the server's ${max}-byte max_payload`, {
      hint: "send a path to a file instead, or raise max_payload in the server config",
    });
  }
  const deadline = Date.now() + ctx.s.retryForMs;
  for (let checked = false; ;) {
    try {
      await ctx.js.publish(requestSubject(to, message.id), data, {
        msgID: message.id,
        expect: { streamName: streamName(to) },
        timeout: ctx.s.requestTimeoutMs,
      });
      return message;
    } catch (err) {
      // No stream listens on the subject: a missing channel, not an outage (checked once).
      if (!checked) {
        checked = true;
        await requireStream(ctx, to);
      }
      if (!isTransient(err) || Date.now() >= deadline) throw natsError(`cannot send to '${message.to}'`, ctx.s, err);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Delivers an answer to the request's reply_to channel (created on first use: it is someone's inbox).
 * Its id is derived from the request and the answer, so redoing it after a crash is de-duplicated.
 */
export async function deliverReply(ctx: NatsContext, request: Request | undefined, response: Response | undefined) {
  if (request?.reply_to === undefined || response === undefined || response.status === "pending") return;
  const replyTo = channelName(request.reply_to); // read from a stored message: checked here
  await createChannel(ctx, replyTo, {});
  await publishRequest(ctx, replyTo, replyMessage(request, response, replyTo));
}
