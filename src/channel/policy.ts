/**
 * Per-channel policy, stored in `channels/<name>/channel.json` under `policy` and set with
 * `abq channel create|config`. Every field has a default, so seed-made channels (no file) work as is.
 */
import * as fs from "../fsp.ts";
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { DEFAULT_TTL } from "../protocol/schema.ts";
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import { publishFile } from "./files.ts";
import type { Queue } from "./paths.ts";

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

const cache = new Map<string, { at: number; policy: Policy }>();
/** A policy read is cached this long per process; `channel config` takes effect within it. */
const CACHE_MS = 2000;

export async function readPolicy(q: Queue): Promise<Policy> {
  const dir = q.subscriber === undefined ? q.dir : join(q.dir, "..", "..");
  const hit = cache.get(dir);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.policy;
  let policy = defaultPolicy();
  try {
    const raw = JSON.parse(await fs.readFile(join(dir, "channel.json"), "utf8")) as { policy?: unknown };
    const parsed = policySchema().safeParse(raw.policy ?? {});
    if (parsed.success) policy = parsed.data;
  } catch {
    // no config (seed-made channel) or unreadable: defaults
  }
  cache.set(dir, { at: Date.now(), policy });
  return policy;
}

/** Merges `changes` into the channel's stored policy (validated) and returns the result. */
export async function writePolicy(channelPath: string, changes: PolicyInput): Promise<Policy> {
  const file = join(channelPath, "channel.json");
  const raw = (await fs.readFile(file, "utf8").then(JSON.parse, () => ({}))) as Record<string, unknown>;
  const merged = policySchema().safeParse({ ...(raw["policy"] as object | undefined), ...changes });
  if (!merged.success) throw new AbqError("E_USAGE", `invalid policy: ${merged.error.issues[0]?.message ?? "?"}`);
  raw["policy"] = merged.data;
  await publishFile(join(channelPath, "tmp"), file, `${JSON.stringify(raw, null, 2)}\n`, {
    sync: false,
    replace: true,
  });
  cache.delete(channelPath);
  return merged.data;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: Policy, attempt: number): number {
  const s = Math.min(policy.backoff_max_s, policy.backoff_s * 2 ** Math.max(0, attempt - 1));
  return Math.round(s * 1000);
}
