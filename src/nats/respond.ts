/**
 * Answering, releasing and withdrawing. Every step first wins the message's state record with a
 * compare-and-set on its revision, and only then acks: JetStream accepts an ack long after the ack wait
 * ran out (by then another consumer may hold the message), so the record, not the ack, decides who
 * answers. A holder whose lease expired and whose message was claimed again finds the record rewritten
 * and gets E_CONFLICT; of two answers exactly one lands. The ack itself is sent without waiting: if it is
 * lost, the redelivery finds the record answered and is acked then (src/nats/claim.ts).
 */
import { AbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { Lease } from "../channel/lease.ts";
import type { FailureInfo, RespondResult } from "../transport.ts";
import { requireStream } from "./channels.ts";
import { ACK, deadLetter, type Held, leaseOf, recordClaim, TERM, WORKING } from "./held.ts";
import { claimFilePath, removeClaimFile } from "./claimfile.ts";
import { retrying } from "./connect.ts";
import { type NatsContext, type NatsQueue as Queue, nanos } from "./context.ts";
import { recordKey, requestSubject, streamName } from "./names.ts";
import { createRecord, getRecord, type StateRecord, updateRecord, type Versioned } from "./records.ts";
import { deliverReply } from "./replies.ts";

/** The claimed record to act on: ours (held, at the revision we wrote) or, from another process, the current one. */
async function claimedRecord(
  ctx: NatsContext,
  q: Queue,
  id: string,
  held: Held | undefined,
  final: boolean,
): Promise<Versioned> {
  if (held) {
    // Our own delayed record write must not race this one: a final step stops it from starting (and
    // writes the record itself); a progress note lets it finish first and then updates it.
    if (final) held.settled = true;
    else await recordClaim(ctx, held);
    await held.recording;
    const ours = { revision: held.revision, record: { ...held.record, request: held.request } };
    if (held.lost === true) throw (await lostRace(ctx, q, id, ours)) ?? new AbqError("E_CONFLICT", `${id} was lost`);
    return ours;
  }
  const current = await retrying(ctx.s, "cannot read the message state", () =>
    getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id)),
  );
  if (current?.record.state === "claimed") return current;
  throw await notClaimed(ctx, q, id, current);
}

async function notClaimed(ctx: NatsContext, q: Queue, id: string, current: Versioned | null): Promise<AbqError> {
  const seeIt = { hint: `see it with: abq show ${id}` };
  switch (current?.record.state) {
    case "answered":
    case "read":
      return new AbqError("E_CONFLICT", `message ${id} was already answered; the first answer stands`, seeIt);
    case "cancelled":
      return new AbqError("E_CONFLICT", `message ${id} is already archived`, seeIt);
    case "rejected":
      return new AbqError("E_CONFLICT", `message ${id} was rejected as invalid`, seeIt);
    default:
      break;
  }
  await requireStream(ctx, q.channel);
  if (await pendingMessage(ctx, q.channel, id)) {
    return new AbqError("E_CONFLICT", `message ${id} is still pending, not claimed`, {
      hint: `claim it first with: abq recv ${q.channel}`,
    });
  }
  return new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${q.channel}'`, {
    hint: `list claimed messages with: abq ls ${q.channel} processing`,
  });
}

/** The request still stored in the stream under its own subject, with its sequence; null when gone. */
export async function pendingMessage(ctx: NatsContext, channel: string, id: string) {
  const stored = await ctx.jsm.streams.getMessage(streamName(channel), { last_by_subj: requestSubject(channel, id) });
  return stored ? { seq: stored.seq, request: stored.json<Request>(), time: stored.time } : null;
}

/** Someone else moved the record since we read it: explain who. */
async function lostRace(ctx: NatsContext, q: Queue, id: string, ours: Versioned, response?: Response) {
  const now = await getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id));
  // Our own write that landed before a timeout made us retry it: that is success, not a conflict.
  if (response && now?.record.response && JSON.stringify(now.record.response) === JSON.stringify(response)) return null;
  if (now?.record.state === "claimed" && now.record.claim?.delivery !== ours.record.claim?.delivery) {
    return new AbqError(
      "E_CONFLICT",
      `message ${id} was redelivered to another consumer after this claim's lease (ack wait ${ctx.s.ackWaitMs / 1000}s) ran out`,
      { hint: "the new holder answers it; renew long work with pending notes (abq respond --status pending)" },
    );
  }
  return notClaimed(ctx, q, id, now);
}

export async function respond(
  ctx: NatsContext,
  q: Queue,
  response: Response,
  held?: Held,
  token?: string,
): Promise<RespondResult> {
  const key = recordKey(q.channel, q.subscriber, response.id);
  const ours = await claimedRecord(ctx, q, response.id, held, response.status !== "pending");
  checkToken(ctx, response.id, ours, token);
  const base = ours.record;
  const pending = response.status === "pending";
  const next: StateRecord = pending
    ? { ...base, note: response, updatedMs: Date.now() }
    : { state: "answered", request: base.request, response, claim: base.claim, updatedMs: Date.now() };
  // A claim whose record was never written (answered quickly) creates it, answered, in one step.
  const revision = await retrying(ctx.s, `cannot answer ${response.id}`, () =>
    ours.revision === null ? createRecord(ctx.kv, key, next) : updateRecord(ctx.kv, key, next, ours.revision),
  );
  if (held && !pending) held.settled = true;
  if (revision === null) {
    const conflict = await lostRace(ctx, q, response.id, ours, response);
    if (conflict) throw conflict;
  }
  if (pending) {
    // A progress note also renews the lease, so long work can keep its claim from another process.
    if (held && revision !== null) held.revision = revision;
    if (base.claim) ctx.nc.publish(base.claim.ack, WORKING);
    return { response };
  }
  await deliverReply(ctx, base.request, response);
  if (base.claim) ctx.nc.publish(base.claim.ack, ACK);
  // Another process may have materialised it on this machine (abq recv): remove what is there.
  if (!held || held.written === true) {
    await removeClaimFile(held?.path ?? claimFilePath(ctx.home, q.channel, q.subscriber, response.id));
  }
  return { response };
}

/** A lease token names one delivery (`<seq>.<delivery>`); any other delivery means the lease was lost. */
function checkToken(ctx: NatsContext, id: string, ours: Versioned, token: string | undefined): void {
  const claim = ours.record.claim;
  if (token === undefined || !claim || token === `${claim.seq}.${claim.delivery}`) return;
  throw new AbqError("E_CONFLICT", `the lease on ${id} was lost: it was delivered again after the ack wait ran out`, {
    hint: `the current holder answers it; see it with: abq show ${id}`,
  });
}

/** Renews the lease (JetStream's `+WPI` restarts the ack wait) while the token still names the delivery. */
export async function renew(ctx: NatsContext, q: Queue, id: string, token: string, held?: Held): Promise<Lease> {
  if (held && held.revision === null && held.lost !== true) {
    checkToken(ctx, id, { revision: null, record: held.record }, token);
    ctx.nc.publish(held.claim.ack, WORKING);
    return leaseOf(ctx, id, held.claim);
  }
  const current = await retrying(ctx.s, "cannot renew", () =>
    getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id)),
  );
  if (current?.record.state !== "claimed" || !current.record.claim) throw await notClaimed(ctx, q, id, current);
  checkToken(ctx, id, current, token);
  if (held && held.revision !== current.revision && held.claim.delivery !== current.record.claim.delivery) {
    checkToken(ctx, id, current, held.lease.token);
  }
  ctx.nc.publish(current.record.claim.ack, WORKING);
  return leaseOf(ctx, id, current.record.claim);
}

export type ReleaseOutcome = "released" | "requeued" | "delayed" | "dead" | "gone";

/**
 * Puts a claimed message back: the record is dropped (it is pending again) and the delivery nak'ed. A
 * `retry` counts as a failed attempt: it comes back after a doubling delay (nak with delay), and past
 * the last attempt it becomes a dead letter instead (a `dead` record; the delivery is terminated).
 */
export async function release(
  ctx: NatsContext,
  q: Queue,
  id: string,
  held?: Held,
  retry?: { failure?: FailureInfo | undefined },
): Promise<ReleaseOutcome> {
  const ours = await claimedRecord(ctx, q, id, held, true).catch((err: unknown) => {
    if (err instanceof AbqError && err.code === "E_CONFLICT" && /pending|answered|archived/.test(err.message)) {
      throw new AbqError("E_NO_MESSAGE", `message ${id} is not claimed in channel '${q.channel}'`);
    }
    throw err;
  });
  const key = recordKey(q.channel, q.subscriber, id);
  const claim = ours.record.claim;
  const attempt = claim?.delivery ?? 1;
  const path = held?.path ?? claimFilePath(ctx.home, q.channel, q.subscriber, id);
  const removeFile = () => (held && held.written !== true ? Promise.resolve() : removeClaimFile(path));
  if (retry && attempt >= ctx.s.maxAttempts) {
    await deadLetter(ctx, key, ours.record.request, `gave up after ${attempt} attempts`, retry.failure);
    if (claim) ctx.nc.publish(claim.ack, TERM);
    await removeFile();
    return "dead";
  }
  if (held) held.settled = true;
  try {
    if (ours.revision !== null) await ctx.kv.delete(key, { previousSeq: ours.revision });
  } catch {
    const conflict = await lostRace(ctx, q, id, ours);
    if (conflict) throw conflict;
  }
  const delay = retry ? Math.min(300_000, ctx.s.backoffMs * 2 ** (attempt - 1)) : 0;
  if (claim) ctx.nc.publish(claim.ack, delay > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delay) })}` : "-NAK");
  await removeFile();
  return !retry ? "released" : delay > 0 ? "delayed" : "requeued";
}
