/**
 * The fence every act on a claim goes through. JetStream accepts an ack long after the ack wait ran out
 * (by then another consumer may hold the message), so the state record, not the ack, decides who may
 * act: each act first wins the record with a compare-and-set on its revision, and only then acks, naks
 * or terminates. A holder whose lease expired and whose message was claimed again finds the record
 * rewritten and gets E_CONFLICT, with nothing changed.
 */
import { AbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { requireStream } from "./channels.ts";
import { retrying } from "./connect.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { type Held, recordClaim } from "./held-claims.ts";
import { recordKey, requestSubject, streamName } from "./names.ts";
import { createRecord, getRecord, type StateRecord, updateRecord, type Versioned } from "./records.ts";
import type { ChannelName } from "../protocol/names.ts";

/**
 * The claimed record to act on: ours (held, at the revision we wrote) or, for a claim made by another
 * process, the current one. `final` stops our own delayed record write from starting (the act writes
 * the record itself); otherwise that write finishes first and the act updates it.
 */
export async function claimedRecord(ctx: NatsContext, q: Queue, id: string, held: Held | undefined, final: boolean) {
  if (held) {
    if (final) held.settled = true;
    else await recordClaim(ctx, held);
    await held.recording;
    const ours: Versioned = { revision: held.revision, record: { ...held.record, request: held.request } };
    if (held.lost === true) throw (await lostRace(ctx, q, id, ours)) ?? new AbqError("E_CONFLICT", `${id} was lost`);
    return ours;
  }
  const current = await retrying(ctx.s, "cannot read the message state", () =>
    getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id)),
  );
  if (current?.record.state === "claimed") return current as Versioned;
  throw await notClaimed(ctx, q, id, current);
}

export async function notClaimed(ctx: NatsContext, q: Queue, id: string, current: Versioned | null): Promise<AbqError> {
  const seeIt = { hint: `see it with: abq show ${id}` };
  switch (current?.record.state) {
    case "answered":
    case "read":
      return new AbqError("E_CONFLICT", `message ${id} was already answered; the first answer stands`, seeIt);
    case "acked":
    case "cancelled":
      return new AbqError("E_CONFLICT", `message ${id} is already archived`, seeIt);
    case "rejected":
      return new AbqError("E_CONFLICT", `message ${id} was rejected as invalid`, seeIt);
    case "dead":
      return new AbqError("E_CONFLICT", `message ${id} is a dead letter`, seeIt);
    default:
      break;
  }
  await requireStream(ctx, q.channel);
  if (await pendingMessage(ctx, q.channel, id)) {
    return new AbqError("E_CONFLICT", `message ${id} is pending, not claimed`, {
      hint: `claim it first with: abq recv ${q.channel}`,
    });
  }
  return new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${q.channel}'`, {
    hint: `list claimed messages with: abq ls ${q.channel} processing`,
  });
}

/** The request still stored in the stream under its own subject, with its sequence; null when gone. */
export async function pendingMessage(ctx: NatsContext, channel: ChannelName, id: string) {
  const stored = await retrying(ctx.s, `cannot read channel '${channel}'`, () =>
    ctx.jsm.streams.getMessage(streamName(channel), { last_by_subj: requestSubject(channel, id) }),
  );
  return stored ? { seq: stored.seq, request: stored.json<Request>(), time: stored.time } : null;
}

/** Someone else moved the record since we read it: explain who; null when the write was our own. */
export async function lostRace(ctx: NatsContext, q: Queue, id: string, ours: Versioned, response?: Response) {
  const now = await retrying(ctx.s, "cannot read the message state", () =>
    getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id)),
  );
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

/** A lease token names one delivery (`<seq>.<delivery>`); any other delivery means the lease was lost. */
export function checkToken(id: string, ours: Versioned, token: string | undefined): void {
  const claim = ours.record.claim;
  if (token === undefined || !claim || token === tokenOf(claim)) return;
  throw new AbqError("E_CONFLICT", `the lease on ${id} was lost: it was delivered again after the ack wait ran out`, {
    hint: `the current holder answers it; see it with: abq show ${id}`,
  });
}

export function tokenOf(claim: { seq: number; delivery: number }): string {
  return `${claim.seq}.${claim.delivery}`;
}

/**
 * Replaces the claimed record with `next` if it is still the one we read (creating it when the claim's
 * record was never written); E_CONFLICT, and nothing written, when someone else moved it first.
 */
export async function winRecord(
  ctx: NatsContext,
  q: Queue,
  id: string,
  ours: Versioned,
  next: StateRecord,
  response?: Response,
): Promise<number | null> {
  const key = recordKey(q.channel, q.subscriber, id);
  const revision = await retrying(ctx.s, `cannot settle ${id}`, () =>
    ours.revision === null ? createRecord(ctx.kv, key, next) : updateRecord(ctx.kv, key, next, ours.revision),
  );
  if (revision === null) {
    const conflict = await lostRace(ctx, q, id, ours, response);
    if (conflict) throw conflict;
  }
  return revision;
}
