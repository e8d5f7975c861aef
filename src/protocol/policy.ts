/**
 * A channel's supervision policy: the schema and its defaults (stored per channel by the spool in
 * `channel.json`, taken from `ABQ_NATS_*` by JetStream). Pure data, so the transport contract can name it.
 */
import { DEFAULT_TTL } from "./schema.ts";
import * as z from "./zod.ts";
import { lazy } from "./zod.ts";

export const policySchema = lazy(() =>
  z.object({
    /** Deliveries before a message is dead-lettered (handler exit 75, failures with retry_errors, expired leases). */
    max_attempts: z._default(z.int().check(z.minimum(1)), 5),
    /** First retry delay in seconds; doubles per attempt up to backoff_max_s. */
    backoff_s: z._default(z.number().check(z.nonnegative()), 1),
    backoff_max_s: z._default(z.number().check(z.nonnegative()), 300),
    /** Seconds a claim is held before the sweep may requeue it (watch renews it while the handler runs). */
    lease_s: z._default(z.number().check(z.positive()), 300),
    /** TTL in seconds given to messages sent without --ttl (0 = never expire). */
    ttl_s: z._default(z.int().check(z.nonnegative()), DEFAULT_TTL),
    /** Seconds answered/archived/dead files are kept before the sweep prunes them (0 = forever). */
    retain_s: z._default(z.number().check(z.nonnegative()), 7 * 24 * 3600),
    /** Retry failed handlers (non-zero exit) like exit 75, instead of answering `error` at once. */
    retry_errors: z._default(z.boolean(), false),
    /** Set aside messages that are not signed by a registered key (src/security/senders.ts). */
    require_signed: z._default(z.boolean(), false),
    /** Only these senders (agent identities or key ids); non-empty: signatures required, all others set aside. */
    allow_senders: z._default(senderList(), []),
    /** Senders set aside even when allowed (identities, whole-segment suffixes of them, or key ids). */
    deny_senders: z._default(senderList(), []),
    /** Shared with a Unix group: folders 2770 (setgid), files 0660 (see `abq channel create --group`). */
    group: z._default(z.boolean(), false),
  }),
);

/** A sender list: up to 256 names of 1-512 characters, no control characters. */
function senderList() {
  const entry = z
    .string()
    .check(z.minLength(1), z.maxLength(512), z.regex(/^[^\p{Cc}]+$/u, "a sender has no control characters"));
  return z.array(entry).check(z.maxLength(256, "a sender list has at most 256 entries"));
}

export type Policy = z.output<ReturnType<typeof policySchema>>;
export type PolicyInput = z.input<ReturnType<typeof policySchema>>;

/** Every field at its default (what a channel without a config gets). */
export const defaultPolicy = lazy((): Policy => policySchema().parse({}));

/** Delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: Policy, attempt: number): number {
  const s = Math.min(policy.backoff_max_s, policy.backoff_s * 2 ** Math.max(0, attempt - 1));
  return Math.round(s * 1000);
}
