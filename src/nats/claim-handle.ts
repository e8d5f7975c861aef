/**
 * JetStream's ClaimHandle: a claimed message with the acts a worker takes on it, mapped onto the
 * delivery's ack subject the way nats.js `JsMsg` does (respond/ack → `+ACK`, release → `-NAK`, term →
 * `+TERM`, renew → `+WPI`), each behind the state-record fence (src/nats/fence.ts).
 *
 * A handle from `claim()` carries the process's `Held` claim (renewed while held, answered at the
 * revision we wrote); one from `resume()` acts on the current record, fenced by the lease token if given.
 */
import { existsSync } from "node:fs";
import { AbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { FailureInfo, Lease } from "../lifecycle/records.ts";
import { ClaimBase } from "../lifecycle/claim-base.ts";
import type { ReleaseOptions, ReleaseOutcome } from "../lifecycle/transport.ts";
import { claimFilePath, writeClaimFile } from "./claimfile.ts";
import { retrying } from "./connect.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { notClaimed } from "./fence.ts";
import { type Held, leaseOf, RECORD_AFTER_MS } from "./held-claims.ts";
import { recordKey } from "./names.ts";
import { getRecord } from "./records.ts";
import { keepLate, renew, respond } from "./respond.ts";
import { ack, release, term } from "./settle.ts";

export interface NatsClaimInit {
  message: Request;
  path: string;
  lease: Lease | undefined;
  /** The claim as this process holds it, when it does. */
  held?: Held | undefined;
  /** The fence (undefined = unfenced: act on whoever holds the claim now). */
  token?: string | undefined;
  /** Called once the claim is no longer ours: settled, or lost to another delivery. */
  onSettled?: (() => void) | undefined;
}

export class NatsClaim extends ClaimBase {
  readonly channel: string;
  readonly subscriber: string | undefined;
  readonly message: Request;
  lease: Lease | undefined;
  private readonly ctx: NatsContext;
  private readonly q: Queue;
  private readonly init: NatsClaimInit;
  private written = false;

  constructor(ctx: NatsContext, q: Queue, init: NatsClaimInit) {
    super();
    this.ctx = ctx;
    this.q = q;
    this.init = init;
    this.channel = q.channel;
    this.subscriber = q.subscriber;
    this.message = init.message;
    this.lease = init.lease;
  }

  /** The message as a file for handlers, written on first read (see claimfile.ts for why lazily). */
  get path(): string {
    const { path, held } = this.init;
    if (!this.written && !(held === undefined && existsSync(path))) {
      writeClaimFile(path, this.message);
      if (held) held.written = true;
    }
    this.written = true;
    return path;
  }

  protected get agent(): string {
    return this.ctx.agent;
  }

  async answer(response: Response): Promise<Response> {
    this.checkAnswer(response);
    const { held, token } = this.init;
    try {
      return await this.settling(response.status !== "pending", () => respond(this.ctx, this.q, response, held, token));
    } catch (err) {
      const fenced = err instanceof AbqError && err.code === "E_CONFLICT" && token !== undefined;
      throw fenced ? await keepLate(this.ctx, this.q, response, token, err) : err;
    }
  }

  ack(): Promise<void> {
    return this.settling(true, () => ack(this.ctx, this.q, this.message.id, this.init.held, this.init.token));
  }

  release(opts: ReleaseOptions = {}): Promise<ReleaseOutcome> {
    return this.settling(true, () => release(this.ctx, this.q, this.message.id, this.init.held, this.init.token, opts));
  }

  term(reason: string | FailureInfo): Promise<void> {
    const failure = typeof reason === "string" ? { reason } : reason;
    return this.settling(true, () => term(this.ctx, this.q, this.message.id, this.init.held, this.init.token, failure));
  }

  /** `+WPI`. JetStream has nowhere to keep a handler's process group, so `handlerPgid` is not recorded. */
  async renew(_extra: { handlerPgid?: number | undefined } = {}): Promise<Lease> {
    const { held, token } = this.init;
    this.lease = await this.settling(false, () => renew(this.ctx, this.q, this.message.id, token, held));
    if (held) held.lease = this.lease;
    return this.lease;
  }

  /** Runs an act; a final one, or any that finds the claim lost, ends this process's hold on it. */
  private async settling<T>(final: boolean, act: () => Promise<T>): Promise<T> {
    try {
      return await act();
    } catch (err) {
      if (err instanceof AbqError && err.code === "E_CONFLICT") this.init.onSettled?.();
      throw err;
    } finally {
      if (final) this.init.onSettled?.();
    }
  }
}

/**
 * A handle on a claim made earlier: this process's own (`held`), or another's, read from its record.
 * `token` fences every act; the lease shown is the record's, its deadline counted from now.
 */
export async function resumeClaim(
  ctx: NatsContext,
  q: Queue,
  id: string,
  held: Held | undefined,
  token: string | undefined,
  onSettled: () => void,
): Promise<NatsClaim> {
  if (held)
    return new NatsClaim(ctx, q, { message: held.request, path: held.path, lease: held.lease, held, token, onSettled });
  const key = recordKey(q.channel, q.subscriber, id);
  const read = () => retrying(ctx.s, "cannot read the message state", () => getRecord(ctx.kv, key));
  let current = await read();
  // A claim made a moment ago by another process has no record yet (held-claims.ts writes it lazily,
  // after RECORD_AFTER_MS): look again for a few of those periods before calling it unclaimed.
  for (let i = 0; current === null && i < 5; i++) {
    await new Promise((r) => setTimeout(r, RECORD_AFTER_MS));
    current = await read();
  }
  const r = current?.record;
  if (!r || r.state !== "claimed" || !r.claim || !r.request) throw await notClaimed(ctx, q, id, current);
  const lease = leaseOf(ctx, id, r.claim, r.releases);
  const message = lease.attempt > 1 ? { ...r.request, attempts: lease.attempt - 1 } : r.request;
  const path = claimFilePath(ctx.home, q.channel, q.subscriber, id);
  return new NatsClaim(ctx, q, { message, path, lease, token, onSettled });
}
