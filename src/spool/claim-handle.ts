/**
 * The spool's ClaimHandle: a claimed message with the acts a worker takes on it. It keeps the request
 * and the lease token it was claimed with, so answering reads nothing back but the lease (the fence).
 */
import { formatTimestamp, PROTOCOL_VERSION, type Response } from "../protocol/schema.ts";
import type { FailureInfo, Lease } from "../lifecycle/records.ts";
import type { Claimed, ClaimHandle, ReleaseOptions, ReleaseOutcome } from "../lifecycle/transport.ts";
import { ackWork, releaseWork, renewWork, respondWork, termWork, type WorkContext } from "./leased-work.ts";
import type { Queue } from "./paths.ts";

export class SpoolClaim implements ClaimHandle {
  readonly channel: string;
  readonly subscriber: string | undefined;
  readonly message: Claimed["message"];
  readonly path: string;
  readonly from_uid: number | undefined;
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

  respond(result: string): Promise<Response> {
    return this.answer(this.response("success", result, null));
  }

  fail(error: string, result = ""): Promise<Response> {
    return this.answer(this.response("error", result, error));
  }

  progress(note: string): Promise<Response> {
    return this.answer(this.response("pending", note, null));
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

  /** The plain data, for JSON output (`abq recv --json`, MCP). */
  toJSON(): Claimed {
    return {
      channel: this.channel,
      ...(this.subscriber !== undefined ? { subscriber: this.subscriber } : {}),
      ...(this.lease !== undefined ? { lease: this.lease } : {}),
      ...(this.from_uid !== undefined ? { from_uid: this.from_uid } : {}),
      message: this.message,
      path: this.path,
    };
  }

  private response(status: Response["status"], result: string, error: string | null): Response {
    return {
      id: this.message.id,
      version: PROTOCOL_VERSION,
      status,
      from: { agent: this.ctx.agent, pid: process.pid },
      result,
      error,
      timestamp: formatTimestamp(),
    };
  }
}
