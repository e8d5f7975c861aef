/**
 * The final acts other than answering: ack (done, no answer), release (now, after a delay, or as a
 * failed attempt with backoff and dead letter) and term (dead letter now). Each wins the state record
 * first (src/nats/fence.ts), then tells JetStream: `+ACK`, `-NAK` (with a delay) or `+TERM`.
 */
import { AbqError } from "../protocol/errors.ts";
import { defaultPolicy, type Policy } from "../protocol/policy.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import type { FailureInfo } from "../lifecycle/records.ts";
import type { ReleaseOptions, ReleaseOutcome } from "../lifecycle/transport.ts";
import type { NatsContext, NatsQueue as Queue, NatsSettings } from "./context.ts";
import { nanos } from "./context.ts";
import { checkToken, claimedRecord, winRecord } from "./fence.ts";
import { ACK, type Held, TERM } from "./held-claims.ts";
import type { StateRecord } from "./records.ts";
import { removeClaimed } from "./respond.ts";

/** Longest retry backoff, as the spool's default backoff_max_s. */
const BACKOFF_MAX_MS = 300_000;

/** The policy JetStream applies: from the `ABQ_NATS_*` settings, the rest at its defaults. */
export function appliedPolicy(s: NatsSettings): Policy {
  return {
    ...defaultPolicy(),
    max_attempts: s.maxAttempts,
    backoff_s: s.backoffMs / 1000,
    backoff_max_s: BACKOFF_MAX_MS / 1000,
    lease_s: s.ackWaitMs / 1000,
  };
}

export async function ack(ctx: NatsContext, q: Queue, id: string, held: Held | undefined, token: string | undefined) {
  const ours = await claimedRecord(ctx, q, id, held, true);
  checkToken(id, ours, token);
  const { request, claim } = ours.record;
  const reason = { reason: `acknowledged by ${ctx.agent}`, by: ctx.agent, at: formatTimestamp() };
  await winRecord(ctx, q, id, ours, { state: "acked", request, claim, reason, updatedMs: Date.now() });
  if (claim) ctx.nc.publish(claim.ack, ACK);
  await removeClaimed(ctx, q, id, held);
}

export async function term(
  ctx: NatsContext,
  q: Queue,
  id: string,
  held: Held | undefined,
  token: string | undefined,
  failure: FailureInfo,
) {
  const ours = await claimedRecord(ctx, q, id, held, true);
  checkToken(id, ours, token);
  await deadLetter(ctx, q, id, ours, held, `terminated by ${ctx.agent}`, failure);
}

async function deadLetter(
  ctx: NatsContext,
  q: Queue,
  id: string,
  ours: Awaited<ReturnType<typeof claimedRecord>>,
  held: Held | undefined,
  problem: string,
  failure: FailureInfo | undefined,
) {
  const { request, claim } = ours.record;
  await winRecord(ctx, q, id, ours, { state: "dead", request, claim, problem, failure, updatedMs: Date.now() });
  if (claim) ctx.nc.publish(claim.ack, TERM);
  await removeClaimed(ctx, q, id, held);
}

/**
 * Gives a claimed message back with a nak. JetStream counts every delivery, so the record (`released`)
 * remembers how many were plain releases: only failed attempts count towards max attempts. Past the
 * last attempt, a failure dead-letters the message instead.
 */
export async function release(
  ctx: NatsContext,
  q: Queue,
  id: string,
  held: Held | undefined,
  token: string | undefined,
  opts: ReleaseOptions,
): Promise<ReleaseOutcome> {
  const ours = await claimedRecord(ctx, q, id, held, true).catch((err: unknown) => {
    // Spool wording: only a pending message is a conflict; answered, archived or dead is just not claimed.
    if (err instanceof AbqError && err.code === "E_CONFLICT" && /answered|archived|dead|rejected/.test(err.message)) {
      throw new AbqError("E_NO_MESSAGE", `message ${id} is not claimed in channel '${q.channel}'`, {
        hint: `see where it is with: abq show ${id}`,
      });
    }
    throw err;
  });
  checkToken(id, ours, token);
  const { request, claim } = ours.record;
  const releases = ours.record.releases ?? 0;
  const attempt = (claim?.delivery ?? 1) - releases;
  const failure = opts.failure;
  if (failure && attempt >= ctx.s.maxAttempts) {
    await deadLetter(ctx, q, id, ours, held, `gave up after ${attempt} attempts`, failure);
    return "dead";
  }
  const backoff = Math.min(BACKOFF_MAX_MS, ctx.s.backoffMs * 2 ** (attempt - 1));
  const delay = Math.max(0, opts.delayMs ?? (failure ? backoff : 0));
  const next: StateRecord = {
    state: "released",
    request,
    releases: failure ? releases : releases + 1,
    ...(delay > 0 ? { dueMs: Date.now() + delay } : {}),
    ...(failure ? { failure } : {}),
    updatedMs: Date.now(),
  };
  await winRecord(ctx, q, id, ours, next);
  if (claim) ctx.nc.publish(claim.ack, delay > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delay) })}` : "-NAK");
  await removeClaimed(ctx, q, id, held);
  if (delay > 0) return "delayed";
  return failure ? "requeued" : "released";
}
