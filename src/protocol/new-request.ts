/**
 * A new request as a sender writes it: the one place its fields and their order are decided, for the
 * library's `send` (src/api/messages.ts) and the CLI's plain send (src/spool/send-plain.ts), so the two
 * store the same bytes. Without zod: the plain send must not load it.
 */
import { DEFAULT_TTL, type MessageType, PROTOCOL_VERSION } from "./constants.ts";
import { newId } from "./ids.ts";
import type { Request } from "./schema.ts";
import { formatTimestamp } from "./timestamp.ts";

export interface NewRequest {
  type: MessageType;
  /** The sender's identity (src/identity). */
  agent: string;
  /** The sender's working folder. Default: `process.cwd()`. */
  cwd?: string | undefined;
  /** The channel, already checked. */
  to: string;
  content: string;
  /** Default: DEFAULT_TTL (the caller sets the channel's own afterwards, where it has one). */
  ttl?: number | undefined;
  replyTo?: string | undefined;
  thread?: string | undefined;
}

export function newRequest(r: NewRequest): Request {
  return {
    id: newId(),
    version: PROTOCOL_VERSION,
    type: r.type,
    from: { agent: r.agent, pid: process.pid, pwd: r.cwd ?? process.cwd() },
    to: r.to,
    content: r.content,
    timestamp: formatTimestamp(),
    ttl: r.ttl ?? DEFAULT_TTL,
    ...(r.replyTo !== undefined ? { reply_to: r.replyTo } : {}),
    ...(r.thread !== undefined ? { thread: r.thread } : {}),
  };
}
