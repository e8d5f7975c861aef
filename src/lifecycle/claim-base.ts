/**
 * What every transport's claim handle shares: the answers built from a result (respond, fail, progress),
 * the check that an answer is for this claim, and the plain data for JSON. A transport implements the
 * acts themselves: answer, ack, release, term, renew.
 */
import { formatTimestamp, PROTOCOL_VERSION, type Request, type Response } from "../protocol/schema.ts";
import type { FailureInfo, Lease } from "./records.ts";
import type { Claimed, ClaimHandle, ReleaseOptions, ReleaseOutcome } from "./transport.ts";

export abstract class ClaimBase implements ClaimHandle {
  abstract readonly channel: string;
  abstract readonly subscriber: string | undefined;
  abstract readonly message: Request;
  abstract readonly path: string;
  abstract lease: Lease | undefined;
  readonly from_uid?: number | undefined;
  /** Who answers (the `from.agent` of the response). */
  protected abstract readonly agent: string;

  abstract answer(response: Response): Promise<Response>;
  abstract ack(): Promise<void>;
  abstract release(opts?: ReleaseOptions): Promise<ReleaseOutcome>;
  abstract term(reason: string | FailureInfo): Promise<void>;
  abstract renew(extra?: { handlerPgid?: number | undefined }): Promise<Lease>;

  respond(result: string): Promise<Response> {
    return this.answer(this.response("success", result, null));
  }

  fail(error: string, result = ""): Promise<Response> {
    return this.answer(this.response("error", result, error));
  }

  progress(note: string): Promise<Response> {
    return this.answer(this.response("pending", note, null));
  }

  /** The plain data (`JSON.stringify(handle)`, `abq recv --json`, MCP). */
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

  /** Refuses an answer built for another message: it would be filed under the wrong id. */
  protected checkAnswer(response: Response): void {
    if (response.id !== this.message.id) {
      throw new Error(`answer for ${response.id} given to the claim of ${this.message.id}`);
    }
  }

  private response(status: Response["status"], result: string, error: string | null): Response {
    return {
      id: this.message.id,
      version: PROTOCOL_VERSION,
      status,
      from: { agent: this.agent, pid: process.pid },
      result,
      error,
      timestamp: formatTimestamp(),
    };
  }
}
