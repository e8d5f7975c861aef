/**
 * The data the transport contract speaks in besides messages: leases, supervision reports and the event
 * log. Plain types, so every transport (and every caller) can name them without importing one of them.
 */
import type { Request } from "../protocol/schema.ts";

export interface LeaseOwner {
  agent: string;
  pid: number;
  host: string;
}

/** Who holds a claimed message, until when; the token fences every answer (see src/protocol/index.ts). */
export interface Lease {
  id: string;
  token: string;
  owner: LeaseOwner;
  claimed_at: string;
  deadline: string;
  lease_s: number;
  attempt: number;
  /** Process group of the handler running the message (abq watch), so a takeover can stop it. */
  handler_pgid?: number | undefined;
}

/** Why a message was given back or given up on (recorded with dead letters). */
export interface FailureInfo {
  reason: string;
  error?: string | undefined;
  exit_code?: number | undefined;
  stderr_tail?: string | undefined;
}

export interface RequeueFilter {
  /** Only claims older than this (ms). */
  olderThanMs?: number | undefined;
  /** Also take claims whose owner process is dead, before their deadline. */
  deadOwners?: boolean | undefined;
  /** Only these ids (still never from a live owner). */
  ids?: string[] | undefined;
  dryRun?: boolean | undefined;
}

export interface RequeueOptions extends RequeueFilter {
  /** One channel (default: all). */
  channel?: string | undefined;
  /** Revive dead letters instead of requeueing claims. */
  fromDead?: boolean | undefined;
}

export interface RequeueResult {
  channel: string;
  subscriber?: string | undefined;
  id: string;
  action: "requeued" | "delayed" | "dead" | "archived" | "would-requeue" | "kept";
  reason: string;
  owner?: string | undefined;
}

export interface SweepReport {
  channel: string;
  subscriber?: string | undefined;
  requeued: RequeueResult[];
  promoted: number;
  /** Ids moved to `expired/` (their TTL ran out while pending). */
  expired: string[];
  staging_removed: number;
  pruned: number;
  /** Why this queue could not be swept (an unsafe or broken folder); the sweep went on with the others. */
  error?: { code: string; message: string } | undefined;
}

export type EventKind =
  | "sent"
  | "claimed"
  | "renewed"
  | "answered"
  | "acked"
  | "released"
  | "requeued"
  | "delayed"
  | "expired"
  | "dead"
  | "terminated"
  | "revived"
  | "rejected"
  | "cancelled"
  | "purged"
  | "late";

export interface LifecycleEvent {
  /** When it happened (ISO 8601). Logs written before abq used `at` call it `t`; readers map it. */
  at: string;
  event: EventKind;
  id: string;
  actor: string;
  pid: number;
  subscriber?: string | undefined;
  attempt?: number | undefined;
  detail?: string | undefined;
}

/** What a claim consumed on its way to a message it could hand out (a command never archives silently). */
export interface Skipped {
  /** Ids whose TTL had run out: moved to `expired/`. */
  expired: string[];
  /** Files that were not valid messages (or failed their signature): moved to `rejected/`. */
  rejected: string[];
}

/** Which copy of a channel to act on: a topic subscriber's (`as`), or the shared one. */
export interface QueueOptions {
  as?: string | undefined;
}

/** A claimed message as data: what a handler needs to know about it. */
export interface Claimed {
  channel: string;
  /** Who holds the claim until when; present the token to answer (fencing). */
  lease?: Lease | undefined;
  /** OS-verified owner uid of the message file (provenance that does not rest on `from.agent`). */
  from_uid?: number | undefined;
  /** Set when this is a topic subscriber's copy. */
  subscriber?: string | undefined;
  message: Request;
  /** Where the claimed message now lives (the handler's `$1` in `abq watch`). */
  path: string;
}
