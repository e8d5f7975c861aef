/**
 * The spool's ClaimHandle: a claimed message with the acts a worker takes on it. It keeps the request
 * and the lease token it was claimed with, so answering reads nothing back but the lease (the fence).
 */
import type { Response } from "../protocol/schema.ts";
import type { FailureInfo, Lease } from "../lifecycle/records.ts";
import { ClaimBase } from "../lifecycle/claim-base.ts";
import type { Claimed, ReleaseOptions, ReleaseOutcome } from "../lifecycle/transport.ts";
import { ackWork, releaseWork, renewWork, respondWork, termWork, type WorkContext } from "./leased-work.ts";
import type { Queue } from "./paths.ts";

export class SpoolClaim extends ClaimBase {
  readonly channel: string;
  readonly subscriber: string | undefined;
  readonly message: Claimed["message"];
  readonly path: string;
  override readonly from_uid: number | undefined;
  lease: Lease | undefined;
  private readonly ctx: WorkContext;
  private readonly q: Queue;
  /** The fence: the token this handle acts under (undefined = unfenced, the seed's respond). */
  private readonly token: string | undefined;
  /** Called after a final act (the transport resets its claim cursor after a release). */
  private readonly onSettled: (() => void) | undefined;
  /** Whether the handle holds the request as claimed (so answering need not read it back). */
  private readonly holdsRequest: boolean;

  constructor(
    ctx: WorkContext,
    q: Queue,
    claimed: Claimed,
    opts: { token?: string | undefined; holdsRequest?: boolean; onSettled?: () => void } = {},
  ) {
    super();
    this.ctx = ctx;
    this.q = q;
    this.channel = claimed.channel;
    this.subscriber = claimed.subscriber;
    this.message = claimed.message;
    this.path = claimed.path;
    this.from_uid = claimed.from_uid;
    this.lease = claimed.lease;
    this.token = opts.token ?? claimed.lease?.token;
    this.holdsRequest = opts.holdsRequest ?? true;
    this.onSettled = opts.onSettled;
  }

  protected get agent(): string {
    return this.ctx.agent;
  }

  answer(response: Response): Promise<Response> {
    if (response.id !== this.message.id)
      throw new Error(`answer for ${response.id} given to the claim of ${this.message.id}`);
    const request = this.holdsRequest ? this.message : undefined;
    return respondWork(this.ctx, this.q, response, this.token, request);
  }

  ack(): Promise<void> {
    return ackWork(this.ctx, this.q, this.message.id, this.token);
  }

  async release(opts: ReleaseOptions = {}): Promise<ReleaseOutcome> {
    try {
      return await releaseWork(this.ctx, this.q, this.message.id, this.token, opts);
    } finally {
      this.onSettled?.();
    }
  }

  term(reason: string | FailureInfo): Promise<void> {
    const failure = typeof reason === "string" ? { reason } : reason;
    return termWork(this.ctx, this.q, this.message.id, this.token, failure);
  }

  async renew(extra: { handlerPgid?: number | undefined } = {}): Promise<Lease> {
    if (this.token === undefined) throw new Error(`the claim of ${this.message.id} has no lease to renew`);
    this.lease = await renewWork(this.ctx, this.q, this.message.id, this.token, extra);
    return this.lease;
  }
}
