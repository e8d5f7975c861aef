/**
 * Answering and renewing a claim. An answer wins the state record (src/nats/fence.ts) and only then
 * acks; the ack is sent without waiting: if it is lost, the redelivery finds the record answered and is
 * acked then (src/nats/claim.ts). Of two answers exactly one lands.
 */
import { AbqError } from "../protocol/errors.ts";
import type { Response } from "../protocol/schema.ts";
import type { Lease } from "../lifecycle/records.ts";
import { retrying } from "./connect.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { checkToken, claimedRecord, notClaimed, winRecord } from "./fence.ts";
import { ACK, type Held, leaseOf, WORKING } from "./held-claims.ts";
import { claimFilePath, removeClaimFile } from "./claimfile.ts";
import { recordKey } from "./names.ts";
import { createRecord, getRecord, type StateRecord } from "./records.ts";
import { deliverReply } from "./replies.ts";
import { serialize } from "../spool/deliver.ts";
import { natsInlineCap } from "./attach-cap.ts";

export async function respond(
  ctx: NatsContext,
  q: Queue,
  response: Response,
  held?: Held,
  token?: string,
): Promise<Response> {
  // A result too large for the state record moves into the Object Store first (src/nats/attach-store.ts).
  if (Buffer.byteLength(serialize(response)) > natsInlineCap(ctx) && response.result.length > 0) {
    const { spillNatsResult } = await import("./attach-store.ts");
    return spillNatsResult(ctx, undefined, response, (r) => respond(ctx, q, r, held, token));
  }
  const pending = response.status === "pending";
  const ours = await claimedRecord(ctx, q, response.id, held, !pending);
  checkToken(response.id, ours, token);
  const base = ours.record;
  const next: StateRecord = pending
    ? { ...base, note: response, updatedMs: Date.now() }
    : { state: "answered", request: base.request, response, claim: base.claim, updatedMs: Date.now() };
  // A claim whose record was never written (answered quickly) creates it, answered, in one step.
  const revision = await winRecord(ctx, q, response.id, ours, next, response);
  if (pending) {
    // A progress note also renews the lease, so long work can keep its claim from another process.
    if (held && revision !== null) held.revision = revision;
    if (base.claim) ctx.nc.publish(base.claim.ack, WORKING);
    return response;
  }
  await deliverReply(ctx, base.request, response);
  if (base.claim) ctx.nc.publish(base.claim.ack, ACK);
  await removeClaimed(ctx, q, response.id, held);
  return response;
}

/**
 * Removes the materialised message file: ours if we wrote it, or the one another process on this
 * machine may have written (`abq recv` then `abq respond`).
 */
export async function removeClaimed(ctx: NatsContext, q: Queue, id: string, held: Held | undefined): Promise<void> {
  if (held && held.written !== true) return;
  await removeClaimFile(held?.path ?? claimFilePath(ctx.home, q.channel, q.subscriber, id));
}

/**
 * An answer refused by the fence is kept aside rather than lost, like the spool's `late/`: under its
 * own key next to the record (see records.ts), never delivered. Returns the error to throw.
 */
export async function keepLate(ctx: NatsContext, q: Queue, response: Response, token: string, err: AbqError) {
  const key = `${recordKey(q.channel, q.subscriber, response.id)}.late.${token.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const kept = await createRecord(ctx.kv, key, { state: "late", response, updatedMs: Date.now() }).then(
    () => true,
    () => false,
  );
  if (!kept) return err;
  return new AbqError("E_CONFLICT", err.message, { hint: `the answer was kept in kv:${key}`, cause: err });
}

/** Renews the lease (JetStream's `+WPI` restarts the ack wait) while the token still names the delivery. */
export async function renew(
  ctx: NatsContext,
  q: Queue,
  id: string,
  token: string | undefined,
  held?: Held,
): Promise<Lease> {
  if (held && held.revision === null && held.lost !== true && held.settled !== true) {
    checkToken(id, { revision: null, record: held.record }, token);
    ctx.nc.publish(held.claim.ack, WORKING);
    return leaseOf(ctx, id, held.claim, held.record.releases);
  }
  const current = await retrying(ctx.s, "cannot renew", () =>
    getRecord(ctx.kv, recordKey(q.channel, q.subscriber, id)),
  );
  if (current?.record.state !== "claimed" || !current.record.claim) throw await notClaimed(ctx, q, id, current);
  checkToken(id, current, token);
  // Held by this process under an older delivery: ours was lost even if the caller gave no token.
  if (held) checkToken(id, current, held.lease.token);
  ctx.nc.publish(current.record.claim.ack, WORKING);
  return leaseOf(ctx, id, current.record.claim, current.record.releases);
}
