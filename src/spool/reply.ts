/**
 * reply_to: a request that names a reply channel gets its answer delivered there as a message too, so an
 * agent can keep one inbox and watch it instead of blocking. The reply is a `status` message whose
 * content is the response JSON, whose `in_reply_to` names the request and whose `thread` is the request's
 * (its `thread`, else its own id).
 *
 * The reply is delivered after the answer is durable and before the request is archived. Its id is
 * derived from the request id and the answer's time, so when a crash forces the delivery to be redone
 * (recovery), the same id comes out and an already-delivered reply is recognised and not sent twice.
 */
import { sha256Hex } from "../protocol/random.ts";
import { join } from "node:path";
import { PROTOCOL_VERSION } from "../protocol/schema.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { pathExists } from "./files.ts";
import type { Queue } from "./paths.ts";

export function replyId(requestId: string, answeredAt: string): string {
  const ms = Date.parse(answeredAt);
  const time = (Number.isFinite(ms) ? ms : 0).toString(16).padStart(12, "0").slice(-12);
  const tail = sha256Hex(requestId).slice(0, 20);
  return `req_${time}${tail}`;
}

export function replyMessage(request: Request, response: Response, replyTo: string): Request {
  return {
    id: replyId(request.id, response.timestamp),
    version: PROTOCOL_VERSION,
    type: "status",
    from: { agent: response.from.agent, pid: response.from.pid, pwd: process.cwd() },
    to: replyTo,
    content: JSON.stringify(response),
    timestamp: response.timestamp,
    ttl: request.ttl,
    in_reply_to: request.id,
    // The reply joins the request's conversation (threads: src/api/thread.ts).
    thread: request.thread ?? request.id,
  };
}

/** Is a message with this id already in the queue, in any state? (Lifecycle order, see topic.ts.) */
export async function alreadyDelivered(q: Queue, id: string): Promise<boolean> {
  for (const path of [
    join(q.dir, "requests", `${id}.json`),
    join(q.dir, "processing", `${id}.json`),
    join(q.dir, "responses", `${id}.json`),
    join(q.dir, "archive", `${id}_request.json`),
    join(q.dir, "fanout", `${id}.json`),
  ]) {
    if (await pathExists(path)) return true;
  }
  return false;
}
