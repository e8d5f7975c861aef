/**
 * The transport interface: everything the library (and so the CLI) needs from a bus. The filesystem
 * spool (src/channel) is one implementation; a NATS JetStream one plugs in behind the same calls.
 */
import type { Request, Response } from "./protocol/schema.ts";
import type { Lease } from "./channel/lease.ts";
import type { Policy, PolicyInput } from "./channel/policy.ts";
import type { RequeueOptions } from "./channel/spool.ts";
import type { RequeueResult } from "./channel/requeue.ts";
import type { SweepReport } from "./channel/sweep.ts";
import type { LifecycleEvent } from "./channel/events.ts";

export interface ChannelInfo {
  name: string;
  /**
   * `queue`: competing consumers share one copy of each message. `topic`: every named subscriber also
   * gets its own copy of each message published after it subscribed.
   */
  kind: "queue" | "topic";
  /** Named subscribers of a topic. */
  subscribers?: string[] | undefined;
  description?: string | undefined;
  /** ISO time the channel was created, when known. */
  created?: string | undefined;
}

export interface ChannelStatus {
  name: string;
  /** Set on a topic subscriber's row. */
  subscriber?: string | undefined;
  pending: number;
  processing: number;
  responses: number;
  archived: number;
  rejected: number;
  /** Age of the oldest pending message in ms (from its id's send time), or null when none is pending. */
  oldestPendingAgeMs: number | null;
}

/** Folders of a channel as the user names them; `pending`/`claimed`/`done` are aliases. */
export type ListState = "requests" | "processing" | "responses" | "archive" | "rejected";

export interface ListEntry {
  id: string;
  state: ListState;
  file: string;
  /** The parsed message (request or response), when the file is valid. */
  message?: Request | Response | undefined;
  /** Why the file could not be read as a message. */
  problem?: string | undefined;
  mtimeMs: number;
}

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

export type MessageState = "pending" | "claimed" | "answered" | "done" | "rejected";

export interface FoundMessage {
  channel: string;
  /** The topic subscriber whose copy this is, if it was found only in one. */
  subscriber?: string | undefined;
  state: MessageState;
  request?: Request | undefined;
  response?: Response | undefined;
  /** Files that hold the message and its answer. */
  files: string[];
}

export interface RespondResult {
  response: Response;
}

/** Which copy of a channel to act on: a topic subscriber's (`as`), or the shared one. */
export interface QueueOptions {
  as?: string | undefined;
}

/** Why a handler gave a message back (recorded in dead letters). */
export interface FailureInfo {
  reason: string;
  error?: string | undefined;
  exit_code?: number | undefined;
  stderr_tail?: string | undefined;
}

export interface WaitResponseOptions {
  signal?: AbortSignal | undefined;
  /** Called with each new `pending` progress note while waiting. */
  onPending?: ((note: Response) => void) | undefined;
}

export interface Transport {
  /** Create the home and the default channels. Idempotent. */
  init(): Promise<{ home: string; created: boolean }>;
  createChannel(
    name: string,
    opts?: { description?: string | undefined; topic?: boolean | undefined },
  ): Promise<{ info: ChannelInfo; created: boolean }>;
  /** Add a named subscriber to a topic (idempotent); it receives messages published from now on. */
  subscribe(topic: string, name: string): Promise<{ created: boolean }>;
  unsubscribe(topic: string, name: string): Promise<void>;
  listChannels(): Promise<ChannelInfo[]>;
  channelInfo(name: string): Promise<ChannelInfo & { status: ChannelStatus }>;
  removeChannel(name: string): Promise<ChannelStatus>;
  /**
   * Deliver a complete request to `message.to`. With `batch`, durability of the folder entry may wait
   * for `flush()` (one directory fsync for many messages).
   */
  send(message: Request, opts?: { batch?: boolean | undefined }): Promise<Request>;
  /** Make every batched send durable. */
  flush?(): Promise<void>;
  /** Claim the oldest pending message, or null when there is none. */
  claim(channel: string, opts?: QueueOptions): Promise<Claimed | null>;
  /** Answer a claimed message; with `lease`, only while that lease is still ours (fenced). */
  respond(
    channel: string,
    response: Response,
    opts?: QueueOptions & { lease?: string | undefined },
  ): Promise<RespondResult>;
  /**
   * Put a claimed message back. With `retry` it counts as a failed attempt: backoff, and a dead letter
   * past the channel's max_attempts. Returns what happened.
   */
  release(
    channel: string,
    id: string,
    opts?: QueueOptions & { retry?: boolean | undefined; failure?: FailureInfo | undefined },
  ): Promise<"released" | "requeued" | "delayed" | "dead" | "gone">;
  /** Extend a lease we hold; E_CONFLICT when it was taken over. */
  renew?(
    channel: string,
    id: string,
    token: string,
    opts?: QueueOptions & { handlerPgid?: number | undefined },
  ): Promise<Lease>;
  /** Default TTL (seconds) for messages sent to `channel` without one. */
  defaultTtl?(channel: string): Promise<number>;
  /** The channel's supervision policy. */
  policy?(channel: string): Promise<Policy>;
  /** Take back claims whose worker is gone, or revive dead letters (see src/channel/requeue.ts). */
  requeue?(opts?: RequeueOptions): Promise<RequeueResult[]>;
  /** All maintenance (see src/channel/sweep.ts). */
  sweep?(opts?: { channel?: string | undefined; dryRun?: boolean | undefined }): Promise<SweepReport[]>;
  /** Dead letters of a queue, with their reasons. */
  dead?(
    channel: string,
    opts?: QueueOptions,
  ): Promise<Array<{ id: string; reason: Record<string, unknown> | undefined }>>;
  /** The lifecycle events of one message. */
  trace?(id: string, channel?: string): Promise<LifecycleEvent[]>;
  /** Change some of the channel's policy; returns the whole policy now in force. */
  configure?(channel: string, changes: PolicyInput): Promise<Policy>;
  status(): Promise<ChannelStatus[]>;
  list(
    channel: string,
    state: ListState,
    opts: { limit: number; oldestFirst: boolean } & QueueOptions,
  ): Promise<ListEntry[]>;
  count(channel: string, state: ListState, opts?: QueueOptions): Promise<number>;
  /** Throws E_NO_CHANNEL (or the subscriber's error) unless the channel (and subscriber) exist; reads no messages. */
  requireChannel(channel: string, opts?: QueueOptions): Promise<void>;
  find(id: string, channel?: string): Promise<FoundMessage>;
  /** Withdraw a pending (unclaimed) message: archived with a reason; E_CONFLICT once claimed. */
  cancel(channel: string, id: string, opts?: QueueOptions): Promise<void>;
  /**
   * Wait for the final answer to `id` (sent to `channel`), mark it read, and return it; null on timeout.
   * Throws E_CONFLICT if the request was cancelled or purged, E_BAD_MESSAGE if it was rejected.
   */
  waitForResponse(channel: string, id: string, timeoutMs: number, opts?: WaitResponseOptions): Promise<Response | null>;
  /** Move every pending message to the archive with `reason`; returns the ids moved. */
  purge(channel: string, reason: string, opts?: QueueOptions): Promise<string[]>;
  /** Resolve when something may have arrived in the queue's pending folder, or after `timeoutMs`. */
  waitForChange(channel: string, timeoutMs: number, signal?: AbortSignal, opts?: QueueOptions): Promise<void>;
  close(): Promise<void>;
}
