/**
 * The transport contract. A transport implements the small core (`TransportCore`): send, claim (which
 * hands back a `ClaimHandle`), resume a claim made by another process, wait for a change, wait for an
 * answer, close. Everything else is a capability it declares in `capabilities` and implements as one
 * interface: channel admin, inspection, supervision, topics. Callers ask with `capable()`, which names the
 * missing capability in a one-line error instead of failing somewhere below.
 *
 * A transport is registered by URL scheme in src/transports.ts, the only module that knows which
 * transports exist. The file spool (src/spool) and JetStream (src/nats) both run the conformance suite
 * in test/conformance.
 */
import { AbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { ChannelAdmin, Inspection, Supervision, Topics } from "./capabilities.ts";
import type { Claimed, FailureInfo, Lease, QueueOptions, Skipped } from "./records.ts";

/** How `release` gave a message back. */
export type ReleaseOutcome = "released" | "requeued" | "delayed" | "dead";

export interface ReleaseOptions {
  /** Milliseconds before it may be claimed again (it waits in `delayed/`). Default: 0. */
  delayMs?: number | undefined;
  /**
   * Count this as a failed attempt: the channel's backoff applies (unless `delayMs` is given) and past
   * max_attempts the message is dead-lettered with this reason.
   */
  failure?: FailureInfo | undefined;
}

/**
 * A claim, with the acts a worker can take on it (modelled on JetStream's JsMsg). Every act is fenced by
 * the claim's lease: once the claim was taken over (requeued after its lease ran out), each one throws
 * E_CONFLICT and changes nothing (an answer is kept aside in `late/`). Exactly one final act wins:
 * respond, fail, ack, release or term; `progress` and `renew` keep the claim.
 */
export interface ClaimHandle extends Claimed {
  /** Final answer, status `success`. */
  respond(result: string): Promise<Response>;
  /** Final answer, status `error`. */
  fail(error: string, result?: string): Promise<Response>;
  /** A progress note (`pending`): the sender's `ask` sees it; the claim stays ours. */
  progress(note: string): Promise<Response>;
  /** Any answer: success, error or pending, as given. */
  answer(response: Response): Promise<Response>;
  /** Done, no answer: archived and marked acknowledged (a waiting `ask` is told so). */
  ack(): Promise<void>;
  /** Give it back: at once, after `delayMs`, or as a failed attempt (`failure`). */
  release(opts?: ReleaseOptions): Promise<ReleaseOutcome>;
  /** Dead-letter it now, with `reason`, whatever attempts are left. */
  term(reason: string | FailureInfo): Promise<void>;
  /** Extend the lease (a long handler calls this every third of lease_s). */
  renew(extra?: { handlerPgid?: number | undefined }): Promise<Lease>;
  /** The plain data (`JSON.stringify(handle)`, `abq recv --json`, MCP). */
  toJSON(): Claimed;
}

export interface WaitResponseOptions {
  signal?: AbortSignal | undefined;
  /** Called with each new `pending` progress note while waiting. */
  onPending?: ((note: Response) => void) | undefined;
}

export interface ClaimOptions extends QueueOptions {
  /** Told about messages the claim expired or rejected on its way to one it could hand out. */
  onSkipped?: ((skipped: Skipped) => void) | undefined;
}

export type Capability = "admin" | "inspect" | "supervise" | "topics";

export interface TransportCore {
  /** The URL scheme it was opened for (`file`, `nats`). */
  readonly scheme: string;
  readonly capabilities: ReadonlySet<Capability>;
  /**
   * Deliver a complete request to `message.to`. With `batch`, durability of the folder entry may wait
   * for `flush()` (one directory fsync for many messages).
   */
  send(message: Request, opts?: { batch?: boolean | undefined }): Promise<Request>;
  /** Make every batched send durable. */
  flush(): Promise<void>;
  /** Claim the oldest pending message, or null when there is none. */
  claim(channel: string, opts?: ClaimOptions): Promise<ClaimHandle | null>;
  /**
   * A handle on a message claimed earlier (by `abq recv`, in another process). With `lease`, every act
   * is fenced by that token; without it, by whoever holds the claim now (the seed's unfenced respond).
   */
  resume(channel: string, id: string, opts?: QueueOptions & { lease?: string | undefined }): Promise<ClaimHandle>;
  /** Resolve when something may have arrived in the queue, or after `timeoutMs`. */
  waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal, opts?: QueueOptions): Promise<void>;
  /**
   * Wait for the final answer to `id` (sent to `channel`), mark it read, and return it; null on timeout.
   * Throws E_CONFLICT if the request was cancelled, purged, acknowledged or expired, E_BAD_MESSAGE if
   * it was rejected.
   */
  waitForResponse(channel: string, id: string, timeoutMs: number, opts?: WaitResponseOptions): Promise<Response | null>;
  close(): Promise<void>;
}

export interface CapabilityMap {
  admin: ChannelAdmin;
  inspect: Inspection;
  supervise: Supervision;
  topics: Topics;
}

/** A transport with every capability either of ours may declare; use `capable()` before the optional ones. */
export type Transport = TransportCore & Partial<ChannelAdmin & Inspection & Supervision & Topics>;

const WHAT: Record<Capability, string> = {
  admin: "channel administration",
  inspect: "inspection (status, ls, show)",
  supervise: "supervision (requeue, sweep, dead letters, trace, channel config)",
  topics: "topics",
};

/** `t` as a transport with capability `c`; E_USAGE naming what is missing (for `what`) otherwise. */
export function capable<C extends Capability>(t: TransportCore, c: C, what?: string): TransportCore & CapabilityMap[C] {
  if (t.capabilities.has(c)) return t as TransportCore & CapabilityMap[C];
  throw new AbqError(
    "E_USAGE",
    `the ${t.scheme} transport has no ${WHAT[c]}${what !== undefined ? `: ${what} is not available` : ""}`,
    {
      hint: t.scheme === "file" ? undefined : "unset ABQ_URL (or drop --url) to use the local bus",
    },
  );
}

export type { CountedState, ListState, StateName } from "./states.ts";
export type {
  Claimed,
  FailureInfo,
  Lease,
  LifecycleEvent,
  QueueOptions,
  RequeueOptions,
  RequeueResult,
  Skipped,
  SweepReport,
} from "./records.ts";
export type {
  ChannelAdmin,
  ChannelInfo,
  ChannelStatus,
  FoundMessage,
  Inspection,
  ListEntry,
  Supervision,
  TailEvent,
  Topics,
} from "./capabilities.ts";
