/**
 * The wire format, protocol 1.0.0 (aygp-dr/abq). These zod schemas (built on first use) are the single source of truth: the
 * types below are inferred from them, `abq schema` prints the JSON Schema generated from them, and every
 * message read from disk is checked against them before anyone acts on it.
 *
 * Reading is tolerant of fields we do not know (they are kept, so a newer writer's data survives a
 * round trip); writing produces exactly the seed's fields, so seed tools with `additionalProperties: false`
 * still accept our files.
 */
import * as z from "./zod.ts";
import { described, lazy } from "./zod.ts";
import { ID_PATTERN } from "./ids.ts";

import { DEFAULT_TTL, MESSAGE_TYPES, PROTOCOL_VERSION, RESPONSE_STATUSES, SEED_TTL } from "./constants.ts";

export { DEFAULT_TTL, MESSAGE_TYPES, PROTOCOL_VERSION, RESPONSE_STATUSES };
export type { MessageType, ResponseStatus } from "./constants.ts";

const id = (): z.ZodMiniString => z.string().check(z.regex(ID_PATTERN, "must look like req_<hex>"));

/** Any 1.x version: minor and patch releases stay wire-compatible by definition. */
const version = (): z.ZodMiniString =>
  described(
    z.string().check(z.regex(/^1\.\d+\.\d+$/, "must be a 1.x protocol version")),
    `Protocol version; abq writes "${PROTOCOL_VERSION}".`,
  );

const timestamp = (): z.ZodMiniString =>
  described(
    z.string().check(
      z.regex(
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/,
        "must be an ISO-8601 date-time",
      ),
      z.refine((s) => !Number.isNaN(Date.parse(s)), "must be a real date"),
    ),
    "ISO-8601 UTC send time, e.g. 2026-11-21T04:46:12.614000+00:00 (sender's clock).",
  );

const count = (): z.ZodMiniNumberFormat => z.int().check(z.nonnegative());

/** abq's optional `attachments` list (docs/attachments.md), the same on requests and responses. */
const attachments = () =>
  described(
    z.optional(
      z.array(
        z.looseObject({
          name: described(z.string().check(z.minLength(1)), "File name (no folder part), unique in the message."),
          sha256: described(
            z.string().check(z.regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits")),
            "SHA-256 of the bytes, lowercase hex: the blob's address, checked on every read.",
          ),
          size: described(count(), "Size in bytes."),
          media_type: described(z.string(), "Media type, e.g. text/plain; application/octet-stream when unknown."),
          spilled: described(
            z.optional(z.enum(["content", "result"])),
            "Set when abq moved an oversized content (or result) here; that field then holds a short note.",
          ),
        }),
      ),
    ),
    "abq: files sent by reference, each stored once under the bus (blobs/sha256/) or in JetStream's Object Store.",
  );

/** The request schema (built on first use). */
export const requestSchema = lazy(() =>
  described(
    z.looseObject({
      id: described(id(), "Message id: `req_` + lowercase hex; sorts by send time."),
      version: version(),
      type: described(z.enum(MESSAGE_TYPES), "What the receiver should do with the content."),
      from: described(
        z.looseObject({
          agent: described(z.string().check(z.minLength(1)), "Sender identity, usually host/org/repo/branch from git."),
          pid: described(count(), "Sender process id."),
          pwd: described(z.string(), "Sender working directory."),
        }),
        "Who sent the message (self-declared).",
      ),
      to: described(z.string(), "The channel the message was sent to."),
      content: described(z.string(), "Payload; by convention often JSON text. May be empty."),
      timestamp: timestamp(),
      ttl: described(
        count(),
        `Seconds the request stays valid from its timestamp; 0 = never expires (abq's default; seed senders write ${SEED_TTL}).`,
      ),
      reply_to: described(z.optional(z.string()), "Optional channel that also receives the response as a message."),
      // abq's optional extensions; seed tools ignore them.
      attempts: described(
        z.optional(count()),
        "abq: deliveries that ended without an answer (retries, expired leases).",
      ),
      in_reply_to: described(z.optional(z.string()), "abq: on a reply_to delivery, the id of the request it answers."),
      thread: described(
        z.optional(id()),
        "abq: the conversation's id, its first message's id; absent on a message that starts one (it is its own).",
      ),
      signature: described(
        z.optional(
          z.looseObject({
            alg: z.literal("ed25519"),
            key: described(z.string(), "Key id: the first 16 hex digits of the SHA-256 of the public key."),
            sig: described(z.string(), "Base64 ed25519 signature over the protocol fields, keys sorted."),
          }),
        ),
        "abq: optional signature (abq send --sign).",
      ),
      attachments: attachments(),
    }),
    "An abq request message (protocol 1.0.0), stored as requests/<id>.json.",
  ),
);

/** The response schema (built on first use). */
export const responseSchema = lazy(() =>
  described(
    z.looseObject({
      id: described(id(), "Id of the request this answers."),
      version: version(),
      status: described(z.enum(RESPONSE_STATUSES), "success | error are final; pending is a progress note."),
      from: described(
        z.looseObject({
          agent: described(z.string().check(z.minLength(1)), "Responder identity."),
          pid: described(count(), "Responder process id."),
        }),
        "Who answered (self-declared).",
      ),
      result: described(z.string(), 'Handler output or answer text (default "").'),
      error: described(z.nullable(z.string()), "Error text when status is error, else null."),
      timestamp: timestamp(),
      attachments: attachments(),
    }),
    "An abq response message (protocol 1.0.0), stored as responses/<id>.json.",
  ),
);

export type Request = z.infer<ReturnType<typeof requestSchema>>;
export type Response = z.infer<ReturnType<typeof responseSchema>>;

// In a module of its own, without zod, for the paths that must start fast (src/spool/send-plain.ts).
export { formatTimestamp } from "./timestamp.ts";

/** One-line summary of why a value failed a schema, e.g. `type: expected one of signal|command|…`. */
export function describeIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}

/** Failed deliveries so far (abq's optional `attempts` field; the seed never writes it). */
export function attemptsOf(message: Record<string, unknown>): number {
  const n = message["attempts"];
  return typeof n === "number" && Number.isInteger(n) && n >= 0 ? n : 0;
}
