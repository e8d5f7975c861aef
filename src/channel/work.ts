/**
 * The worker's side of the lifecycle with supervision: claim (with a lease, skipping expired messages and
 * promoting due retries), renew, answer (fenced by the lease token), and give back (retry, backoff, dead
 * letter). spool.ts exposes these through the Transport interface.
 */
import * as fs from "../fsp.ts";
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { Claimed, RespondResult } from "../transport.ts";
import type { AnswerHook } from "./answers.ts";
import { type ClaimCursor, claimNext, releaseClaim } from "./claim.ts";
import { logEvent } from "./events.ts";
import { ensureDir, tryRename, writeNewFile } from "./files.ts";
import { dropLease, HOST, type Lease, readLease, renewLease, writeLease } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { readPolicy } from "./policy.ts";
import { archiveReason } from "./purge.ts";
import { respondTo } from "./respond.ts";
import { rejectFile } from "./read.ts";
import { verifyMessage } from "../security/sign.ts";
import { type Failure, promoteDue, retryOrDead, type RetryOutcome } from "./retry.ts";

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

export async function claimWork(ctx: WorkContext, q: Queue, cursor: ClaimCursor): Promise<Claimed | null> {
  if (cursor.exhausted && (await promoteDue(q)) > 0) cursor.reset();
  const policy = await readPolicy(q);
  for (;;) {
    const claimed = await claimNext(q, cursor, {
      sync: ctx.sync,
      maxBytes: ctx.maxBytes,
      onAnswered: ctx.replies,
      onRejected: (name, reason) => logEvent(q, "rejected", name.replace(/\.json$/, ""), ctx.agent, { detail: reason }),
    });
    if (!claimed) return null;
    const m = claimed.message;
    if (isExpired(m)) {
      // Expired on the way: archive it with the reason instead of handing it out.
      if (await tryRename(claimed.path, join(q.dir, "archive", `${m.id}_request.json`))) {
        await archiveReason(q.dir, m.id, { reason: "expired", by: ctx.agent });
        await logEvent(q, "expired", m.id, ctx.agent, { detail: `ttl ${m.ttl}s from ${m.timestamp}` });
      }
      continue;
    }
    if (policy.require_signed || m["signature"] !== undefined) {
      // A signature that does not verify means the message was altered: set it aside, never hand it out.
      const verdict = await verifyMessage(ctx.home, m);
      if (!verdict.ok) {
        await rejectFile(q.dir, claimed.path, verdict.problem, "requests");
        await logEvent(q, "rejected", m.id, ctx.agent, { detail: verdict.problem });
        continue;
      }
    }
    const attempt = (typeof m["attempts"] === "number" ? m["attempts"] : 0) + 1;
    const lease = await writeLease(
      q,
      m.id,
      { agent: ctx.agent, pid: ctx.ownerPid, host: HOST },
      policy.lease_s,
      attempt,
    );
    const st = await fs.stat(claimed.path).catch(() => undefined);
    await logEvent(q, "claimed", m.id, ctx.agent, { attempt });
    return { ...claimed, lease, ...(st ? { from_uid: st.uid } : {}) };
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
  await logEvent(q, "renewed", id, ctx.agent, { attempt: lease.attempt });
  return lease;
}

export async function respondWork(
  ctx: WorkContext,
  q: Queue,
  response: Response,
  token: string | undefined,
): Promise<RespondResult> {
  if (token !== undefined) {
    const lease = await readLease(q, response.id);
    if (lease?.token !== token) {
      // Someone else holds this message now: keep our late answer aside rather than lose it.
      await ensureDir(join(q.dir, "late"));
      const late = join(q.dir, "late", `${response.id}.${token}.json`);
      await writeNewFile(late, `${JSON.stringify(response, null, 2)}\n`, false).catch(() => undefined);
      await logEvent(q, "late", response.id, ctx.agent, { detail: `kept in ${late}` });
      throw leaseLost(response.id, late);
    }
  }
  const result = await respondTo(q, response, { sync: ctx.sync, maxBytes: ctx.maxBytes, onAnswered: ctx.replies });
  if (response.status !== "pending") {
    await dropLease(q, response.id);
    await logEvent(q, "answered", response.id, ctx.agent, { detail: response.status });
  }
  return result;
}

/** Gives a claimed message back: plainly, or as a failed attempt (backoff, then dead letter past max). */
export async function releaseWork(
  ctx: WorkContext,
  q: Queue,
  id: string,
  opts: { retry?: boolean | undefined; failure?: Failure | undefined },
): Promise<RetryOutcome | "released"> {
  if (!opts.retry) {
    // Lease first: once the message is back in requests/ the next claimer writes its own lease.
    await dropLease(q, id);
    if (!(await releaseClaim(q, id, ctx.sync))) throw notClaimed(q, id);
    await logEvent(q, "released", id, ctx.agent);
    return "released";
  }
  const policy = await readPolicy(q);
  const failure = opts.failure ?? { reason: "retry requested" };
  const { outcome, attempts } = await retryOrDead(q, id, policy, failure, ctx.agent, ctx.sync);
  if (outcome === "gone") throw notClaimed(q, id);
  await logEvent(q, outcome === "dead" ? "dead" : outcome, id, ctx.agent, {
    attempt: attempts,
    detail: failure.reason,
  });
  return outcome;
}

function leaseLost(id: string, kept?: string): AbqError {
  return new AbqError("E_CONFLICT", `the lease on ${id} was lost (requeued and taken over): not answered`, {
    hint: kept !== undefined ? `the answer was kept in ${kept}` : "renew leases more often than lease_s",
  });
}

function notClaimed(q: Queue, id: string): AbqError {
  return new AbqError("E_NO_MESSAGE", `message ${id} is not claimed in channel '${q.channel}'`);
}
