/**
 * Protocol constants, kept apart from the zod schemas so the CLI can name types and statuses in its help
 * without loading zod (about 40 ms of start-up) for commands that do not validate anything.
 */
export const PROTOCOL_VERSION = "1.0.0";
export const MESSAGE_TYPES = ["signal", "command", "eval", "status"] as const;
export const RESPONSE_STATUSES = ["success", "error", "pending"] as const;
/**
 * Time-to-live of a request sent without one, in seconds: 0 = never expires (like JetStream's MaxAge 0).
 * Work is never discarded unhandled because its consumers were slow or down; expiry is opt-in, per
 * message (`--ttl`) or per channel (`ttl_s`). The seed wrote 300 into every message, and abq honours a
 * ttl a message carries, so seed-sent mail still expires after 5 minutes (see docs/protocol.md).
 */
export const DEFAULT_TTL = 0;
/** Longest TTL, lease, backoff, delay or retention anywhere (CLI, library, MCP): one year, in seconds. */
export const MAX_SPAN_S = 365 * 86_400;
/** What the seed protocol writes into messages sent without --ttl. */
export const SEED_TTL = 300;

export type MessageType = (typeof MESSAGE_TYPES)[number];
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];
