/**
 * The wire format, protocol 1.0.0 (aygp-dr/abq). These zod schemas are the single source of truth: the
 * types below are inferred from them, `abq schema` prints the JSON Schema generated from them, and every
 * message read from disk is checked against them before anyone acts on it.
 *
 * Reading is tolerant of fields we do not know (they are kept, so a newer writer's data survives a
 * round trip); writing produces exactly the seed's fields, so seed tools with `additionalProperties: false`
 * still accept our files.
 */
import { z } from "zod";
import { ID_PATTERN } from "./ids.ts";

import { DEFAULT_TTL, MESSAGE_TYPES, PROTOCOL_VERSION, RESPONSE_STATUSES } from "./constants.ts";

export { DEFAULT_TTL, MESSAGE_TYPES, PROTOCOL_VERSION, RESPONSE_STATUSES };
export type { MessageType, ResponseStatus } from "./constants.ts";

const Id = z
  .string()
  .regex(ID_PATTERN, "must look like req_<hex>")
  .describe("Message id: `req_` + lowercase hex; sorts by send time.");

/** Any 1.x version: minor and patch releases stay wire-compatible by definition. */
const Version = z
  .string()
  .regex(/^1\.\d+\.\d+$/, "must be a 1.x protocol version")
  .describe(`Protocol version; abq writes "${PROTOCOL_VERSION}".`);

const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/, "must be an ISO-8601 date-time")
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be a real date")
  .describe("ISO-8601 UTC send time, e.g. 2026-11-21T04:46:12.614000+00:00 (sender's clock).");

export const RequestSchema = z
  .looseObject({
    id: Id,
    version: Version,
    type: z.enum(MESSAGE_TYPES).describe("What the receiver should do with the content."),
    from: z
      .looseObject({
        agent: z.string().min(1).describe("Sender identity, usually host/org/repo/branch from git."),
        pid: z.number().int().nonnegative().describe("Sender process id."),
        pwd: z.string().describe("Sender working directory."),
      })
      .describe("Who sent the message (self-declared)."),
    to: z.string().describe("The channel the message was sent to."),
    content: z.string().describe("Payload; by convention often JSON text. May be empty."),
    timestamp: Timestamp,
    ttl: z.number().int().nonnegative().describe(`Seconds the request stays valid (default ${DEFAULT_TTL}).`),
    reply_to: z.string().optional().describe("Optional channel that also receives the response as a message."),
    // abq's optional extensions; seed tools ignore them.
    attempts: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("abq: deliveries that ended without an answer (retries, expired leases)."),
    in_reply_to: z.string().optional().describe("abq: on a reply_to delivery, the id of the request it answers."),
    signature: z
      .looseObject({
        alg: z.literal("ed25519"),
        key: z.string().describe("Key id: the first 16 hex digits of the SHA-256 of the public key."),
        sig: z.string().describe("Base64 ed25519 signature over the protocol fields, keys sorted."),
      })
      .optional()
      .describe("abq: optional signature (abq send --sign)."),
  })
  .describe("An abq request message (protocol 1.0.0), stored as requests/<id>.json.");

export const ResponseSchema = z
  .looseObject({
    id: Id.describe("Id of the request this answers."),
    version: Version,
    status: z.enum(RESPONSE_STATUSES).describe("success | error are final; pending is a progress note."),
    from: z
      .looseObject({
        agent: z.string().min(1).describe("Responder identity."),
        pid: z.number().int().nonnegative().describe("Responder process id."),
      })
      .describe("Who answered (self-declared)."),
    result: z.string().describe('Handler output or answer text (default "").'),
    error: z.string().nullable().describe("Error text when status is error, else null."),
    timestamp: Timestamp,
  })
  .describe("An abq response message (protocol 1.0.0), stored as responses/<id>.json.");

export type Request = z.infer<typeof RequestSchema>;
export type Response = z.infer<typeof ResponseSchema>;

/**
 * The seed's timestamp form: UTC with microseconds and `+00:00` (Python's isoformat), which both Python's
 * `fromisoformat` (any version) and JavaScript's `Date.parse` read.
 */
export function formatTimestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000+00:00");
}

/** One-line summary of why a value failed a schema, e.g. `type: expected one of signal|command|…`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

/** JSON Schema (draft 2020-12) for `abq schema`, generated from the zod schemas above. */
export function jsonSchemaFor(kind: "request" | "response"): unknown {
  return z.toJSONSchema(kind === "request" ? RequestSchema : ResponseSchema, { io: "input" });
}
