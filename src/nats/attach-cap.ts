/**
 * How large a message or answer may be inline over NATS before its text moves into an attachment: a
 * claim's state record holds the request and its answer together, and must fit the server's max_payload.
 */
import { resolveMaxBytes } from "../spool/files.ts";
import type { NatsContext } from "./context.ts";

export function natsInlineCap(ctx: NatsContext): number {
  const maxPayload = ctx.nc.info?.max_payload ?? 1024 * 1024;
  return Math.max(1024, Math.min(resolveMaxBytes(), Math.floor(maxPayload / 2) - 16 * 1024));
}
