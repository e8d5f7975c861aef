/**
 * Claims this process holds. Each is renewed (`+WPI` restarts JetStream's ack wait) every third of the
 * lease while held, and fenced by its delivery when answered. A first delivery's state record is written
 * lazily (`recordClaim`): after RECORD_AFTER_MS if the claim is still open, and before the transport
 * closes, so a quick answer costs one KV write instead of two, while `ls processing`, `show` and other
 * processes (`abq recv` now, `abq respond` later) still see every claim that lasts.
 */
import type { Lease } from "../lifecycle/records.ts";
import type { Request } from "../protocol/schema.ts";
import type { FailureInfo } from "../lifecycle/transport.ts";
import { retrying } from "./connect.ts";
import type { NatsContext } from "./context.ts";
import { type ClaimInfo, createRecord, type StateRecord } from "./records.ts";

export const ACK = "+ACK";
export const WORKING = "+WPI";
export const TERM = "+TERM";

/** A claim still open this long gets its state record written. */
export const RECORD_AFTER_MS = 100;

/** A claim this process holds: renewed while held, fenced by `revision` when answered. */
export interface Held {
  channel: string;
  subscriber: string | undefined;
  key: string;
  /** Revision of the state record, or null while it is not written yet (see `recordClaim`). */
  revision: number | null;
  record: StateRecord;
  /** The record write under way, if any. */
  recording?: Promise<void> | undefined;
  /** Set when the record could not be written because another delivery or a cancel owns the message. */
  lost?: boolean | undefined;
  /** Answered or released: no record needs writing any more. */
  settled?: boolean | undefined;
  /** The message file was materialised (`path` was read). */
  written?: boolean | undefined;
  claim: ClaimInfo;
  request: Request;
  path: string;
  lease: Lease;
}

/**
 * Writes the record of a claim held without one (so other processes can see, answer or release it):
 * after a short delay for claims still open, and for all of them before the transport closes. Of the
 * claim and anything else that wrote the record first (a cancel, a redelivery), the other one wins.
 */
export function recordClaim(ctx: NatsContext, held: Held): Promise<void> {
  if (held.revision !== null || held.lost === true || held.settled === true) return Promise.resolve();
  held.recording ??= createRecord(ctx.kv, held.key, held.record).then(
    (revision) => {
      if (revision === null) held.lost = true;
      else held.revision = revision;
    },
    () => {
      held.recording = undefined; // the server is away: try again next time
    },
  );
  return held.recording;
}

/** The delivery is the fencing token: `<stream seq>.<delivery count>` changes with every redelivery. */
export function leaseOf(ctx: NatsContext, id: string, claim: ClaimInfo, releases = 0): Lease {
  const at = Date.parse(claim.at);
  return {
    id,
    token: `${claim.seq}.${claim.delivery}`,
    owner: { agent: claim.by, pid: claim.pid, host: claim.host },
    claimed_at: new Date(at).toISOString(),
    deadline: new Date(Date.now() + ctx.s.ackWaitMs).toISOString(),
    lease_s: ctx.s.ackWaitMs / 1000,
    // Plain releases are deliveries too, but not attempts (see settle.ts).
    attempt: Math.max(1, claim.delivery - releases),
  };
}

/** Out of attempts: a `dead` record (what failed, and the request) replaces whatever was there. */
export async function deadLetter(
  ctx: NatsContext,
  key: string,
  request: Request | undefined,
  problem: string,
  failure?: FailureInfo,
): Promise<void> {
  const record: StateRecord = { state: "dead", request, problem, failure, updatedMs: Date.now() };
  await retrying(ctx.s, "cannot write a dead letter", () =>
    ctx.kv.put(key, new TextEncoder().encode(JSON.stringify(record))),
  );
}

/** The claims of one transport, with the timer that renews their leases. */
export class HeldClaims {
  private readonly map = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ctx: NatsContext;

  constructor(ctx: NatsContext) {
    this.ctx = ctx;
  }

  add(held: Held): void {
    this.map.set(held.key, held);
    setTimeout(() => void recordClaim(this.ctx, held), RECORD_AFTER_MS).unref();
    if (this.timer) return;
    this.timer = setInterval(() => this.renew(), Math.max(20, Math.floor(this.ctx.s.ackWaitMs / 3)));
    this.timer.unref();
  }

  get(key: string): Held | undefined {
    return this.map.get(key);
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  /** Claims handed on (`abq recv` exits; someone answers later) must have their record first. */
  async close(): Promise<void> {
    await Promise.all([...this.map.values()].map((h) => recordClaim(this.ctx, h)));
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private renew(): void {
    if (this.map.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    for (const h of this.map.values()) this.ctx.nc.publish(h.claim.ack, WORKING);
  }
}
