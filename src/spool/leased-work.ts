/**
 * The worker's side of the lifecycle with supervision: claim (with a lease, expiring and rejecting what it
 * must on the way, promoting due retries), renew, and the final acts, each fenced by the lease token:
 * answer, ack, release (now, delayed, or as a failed attempt with backoff and dead letter), term.
 * src/spool/claim-handle.ts puts these behind the ClaimHandle interface.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { LEASE_TOKEN_PATTERN } from "../protocol/ids.ts";
import { attemptsOf, type Request, type Response } from "../protocol/schema.ts";
import type { Claimed, ReleaseOptions, ReleaseOutcome } from "../lifecycle/transport.ts";
import type { FailureInfo, Skipped } from "../lifecycle/records.ts";
import type { AnswerHook } from "./answers.ts";
import { expireHead } from "./bulk-expire.ts";
import { type ClaimCursor, claimNext } from "./claim.ts";
import { logEvent } from "./events.ts";
import { ensureSubdir, writeNewFile } from "./files.ts";
import { dropLease, HOST, type Lease, readLease, renewLease } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { readPolicy } from "./policy.ts";
import { respondTo } from "./respond.ts";
import { rejectFile } from "./read.ts";
import { commitLease, discardStagedLease, stageLease } from "./staged-lease.ts";
import { notClaimedError } from "./not-claimed.ts";
import { checkSender, needsSenderCheck } from "../security/senders.ts";
import { giveBack, promoteDue, retryOrDead, terminate } from "./retry.ts";
import { archive, at, expire } from "./transitions.ts";

export interface WorkContext {
  home: string;
  sync: boolean;
  maxBytes: number;
  agent: string;
  /** The process that owns claims made here (the CLI's `recv` names its parent shell). */
  ownerPid: number;
  replies: AnswerHook;
}

/** Has the request's time-to-live passed? TTL counts from its send time on this host's clock; 0 = never. */
export function isExpired(message: Request, now = Date.now()): boolean {
  if (message.ttl <= 0) return false;
  const sent = Date.parse(message.timestamp);
  return Number.isFinite(sent) && sent + message.ttl * 1000 < now;
}

export async function claimWork(
  ctx: WorkContext,
  q: Queue,
  cursor: ClaimCursor,
  onSkipped?: (skipped: Skipped) => void,
): Promise<Claimed | null> {
  if (cursor.exhausted && (await promoteDue(q)) > 0) cursor.reset();
  const policy = await readPolicy(q, { strict: true });
  const skipped: Skipped = { expired: [], rejected: [] };
  const rejected = (id: string, reason: string): void => {
    skipped.rejected.push(id);
    logEvent(q, "rejected", id, ctx.agent, { detail: reason });
  };
  const owner = { agent: ctx.agent, pid: ctx.ownerPid, host: HOST };
  try {
    for (;;) {
      const next = await claimNext(q, cursor, {
        sync: ctx.sync,
        maxBytes: ctx.maxBytes,
        onAnswered: ctx.replies,
        onRejected: (name, reason) => rejected(name.replace(/\.json$/, ""), reason),
        lease: { owner, leaseS: policy.lease_s },
      });
      if (!next) return null;
      const { staged, ...claimed } = next;
      const m = claimed.message;
      if (isExpired(m)) {
        await discardStagedLease(staged);
        // Expired on the way: set aside with its TTL instead of handing it out.
        if (await expire(q, claimed.path, m, ctx.agent)) {
          skipped.expired.push(m.id);
          logEvent(q, "expired", m.id, ctx.agent, { detail: `ttl ${m.ttl}s from ${m.timestamp}` });
        }
        // Often the first of a run (a queue nobody read for a while): the rest of the run goes in bulk,
        // a slice at a time, instead of a claim, a lease and a move each (bulk-expire.ts).
        const run = await expireHead(q, ctx.agent, { sync: ctx.sync, isExpired: (x) => isExpired(x) });
        if (run.length > 0) {
          skipped.expired.push(...run);
          cursor.reset(); // its listing still names what just moved
        }
        continue;
      }
      if (needsSenderCheck(policy, m)) {
        // Altered, spoofed, revoked, unsigned where signatures are required, or a sender the channel does
        // not accept: set it aside with the reason, never hand it out.
        const verdict = await checkSender(ctx.home, policy, m).catch(async (err: unknown) => {
          // The key registry could not be read (unsafe keys folder, I/O): put the message back untouched.
          await commitLease(q, staged ?? (await stageLease(q, m.id, owner, policy.lease_s)), attemptsOf(m) + 1);
          await giveBack(q, m.id, 0, ctx.sync);
          throw err;
        });
        if (!verdict.ok) {
          await discardStagedLease(staged);
          await rejectFile(q.dir, claimed.path, verdict.problem, "requests");
          rejected(m.id, verdict.problem);
          continue;
        }
      }
      const attempt = attemptsOf(m) + 1;
      const lease = await commitLease(q, staged ?? (await stageLease(q, m.id, owner, policy.lease_s)), attempt);
      const st = await fs.stat(claimed.path).catch(() => undefined);
      logEvent(q, "claimed", m.id, ctx.agent, { attempt });
      return { ...claimed, lease, ...(st ? { from_uid: st.uid } : {}) };
    }
  } finally {
    if (skipped.expired.length + skipped.rejected.length > 0) onSkipped?.(skipped);
  }
}

export async function renewWork(
  ctx: WorkContext,
  q: Queue,
  id: string,
  token: string,
  extra: { handlerPgid?: number | undefined } = {},
): Promise<Lease> {
  const lease = await renewLease(q, id, token, extra);
  if (!lease) throw leaseLost(id);
  logEvent(q, "renewed", id, ctx.agent, { attempt: lease.attempt });
  return lease;
}

/**
 * The fence: with a token, the act goes ahead only while the lease still carries it. This read is the
 * check itself (another process may have taken the claim over), not a re-read of something we hold.
 */
async function holdsLease(q: Queue, id: string, token: string | undefined): Promise<boolean> {
  return token === undefined || (await readLease(q, id))?.token === token;
}

export async function respondWork(
  ctx: WorkContext,
  q: Queue,
  response: Response,
  token: string | undefined,
  request?: Request,
): Promise<Response> {
  if (!(await holdsLease(q, response.id, token))) {
    // Someone else holds this message now: keep our late answer aside rather than lose it. The token
    // names the file, so it must never be a path (callers validate it too; this is the last line).
    if (token === undefined || !LEASE_TOKEN_PATTERN.test(token))
      throw new AbqError("E_USAGE", `'${String(token).slice(0, 40)}' is not a lease token (as recv prints it)`);
    await ensureSubdir(join(q.dir, "late"));
    const late = join(q.dir, "late", `${response.id}.${token}.json`);
    await writeNewFile(late, `${JSON.stringify(response, null, 2)}\n`, false).catch(() => undefined);
    logEvent(q, "late", response.id, ctx.agent, { detail: `kept in ${late}` });
    throw leaseLost(response.id, late);
  }
  const opts = { sync: ctx.sync, maxBytes: ctx.maxBytes, onAnswered: ctx.replies };
  const result = await respondTo(q, response, opts, request);
  if (response.status !== "pending") {
    await dropLease(q, response.id);
    logEvent(q, "answered", response.id, ctx.agent, { detail: response.status });
  }
  return result;
}

/** Done without an answer: archived with a note that says so (a waiting `ask` stops and is told). */
export async function ackWork(ctx: WorkContext, q: Queue, id: string, token: string | undefined): Promise<void> {
  if (!(await holdsLease(q, id, token))) throw leaseLost(id);
  const note = { state: "acknowledged" as const, reason: `acknowledged by ${ctx.agent}`, by: ctx.agent };
  if (!(await archive(q, at.claimed(q, id), id, note))) throw await notClaimedError(q, id);
  await dropLease(q, id);
  logEvent(q, "acked", id, ctx.agent);
}

/** Gives a claimed message back: now, after a delay, or as a failed attempt (backoff, then dead letter). */
export async function releaseWork(
  ctx: WorkContext,
  q: Queue,
  id: string,
  token: string | undefined,
  opts: ReleaseOptions = {},
): Promise<ReleaseOutcome> {
  if (!(await holdsLease(q, id, token))) throw leaseLost(id);
  if (opts.failure === undefined) {
    const outcome = await giveBack(q, id, opts.delayMs ?? 0, ctx.sync);
    if (outcome === "gone") throw await notClaimedError(q, id);
    logEvent(q, outcome === "delayed" ? "delayed" : "released", id, ctx.agent, {
      ...(opts.delayMs ? { detail: `for ${opts.delayMs} ms` } : {}),
    });
    return outcome === "delayed" ? "delayed" : "released";
  }
  const policy = await readPolicy(q);
  const { outcome, attempts } = await retryOrDead(q, id, policy, opts.failure, ctx.agent, ctx.sync, opts.delayMs);
  if (outcome === "gone") throw await notClaimedError(q, id);
  logEvent(q, outcome, id, ctx.agent, { attempt: attempts, detail: opts.failure.reason });
  return outcome;
}

/** Dead-letters a claimed message at once, with its reason. */
export async function termWork(
  ctx: WorkContext,
  q: Queue,
  id: string,
  token: string | undefined,
  failure: FailureInfo,
): Promise<void> {
  if (!(await holdsLease(q, id, token))) throw leaseLost(id);
  if (!(await terminate(q, id, failure, ctx.agent))) throw await notClaimedError(q, id);
  logEvent(q, "terminated", id, ctx.agent, { detail: failure.reason });
}

function leaseLost(id: string, kept?: string): AbqError {
  return new AbqError("E_CONFLICT", `the lease on ${id} was lost (requeued and taken over): nothing changed`, {
    hint: kept !== undefined ? `the answer was kept in ${kept}` : "renew leases more often than lease_s",
  });
}
