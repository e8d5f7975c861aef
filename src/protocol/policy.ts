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
    /** Set aside messages that are not signed by a known key. */
    require_signed: z._default(z.boolean(), false),
    /** Shared with a Unix group: folders 2770 (setgid), files 0660 (see `abq channel create --group`). */
    group: z._default(z.boolean(), false),
  }),
);

export type Policy = z.output<ReturnType<typeof policySchema>>;
export type PolicyInput = z.input<ReturnType<typeof policySchema>>;

/** Every field at its default (what a channel without a config gets). */
export const defaultPolicy = lazy((): Policy => policySchema().parse({}));

/** Delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: Policy, attempt: number): number {
  const s = Math.min(policy.backoff_max_s, policy.backoff_s * 2 ** Math.max(0, attempt - 1));
  return Math.round(s * 1000);
}
