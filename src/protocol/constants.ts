/**
 * Protocol constants, kept apart from the zod schemas so the CLI can name types and statuses in its help
 * without loading zod (about 40 ms of start-up) for commands that do not validate anything.
 */
export const PROTOCOL_VERSION = "1.0.0";
export const MESSAGE_TYPES = ["signal", "command", "eval", "status"] as const;
export const RESPONSE_STATUSES = ["success", "error", "pending"] as const;
/** Default time-to-live of a request in seconds, as in the seed. */
export const DEFAULT_TTL = 300;

export type MessageType = (typeof MESSAGE_TYPES)[number];
export type ResponseStatus = (typeof RESPONSE_STATUSES)[number];
