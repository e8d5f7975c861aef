/**
 * The capabilities a transport may declare beside the core (see transport.ts): channel admin,
 * inspection, supervision, topics, and the data they speak in.
 */
import type { Policy, PolicyInput } from "../protocol/policy.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { Lease, LifecycleEvent, QueueOptions, RequeueOptions, RequeueResult, SweepReport } from "./records.ts";
import type { CountedState, ListState, StateName } from "./states.ts";

export interface ChannelInfo {
  name: string;
  /** `queue`: competing consumers share one copy. `topic`: every named subscriber also gets its own. */
  kind: "queue" | "topic";
  subscribers?: string[] | undefined;
  description?: string | undefined;
  /** ISO time the channel was created, when known. */
  created?: string | undefined;
}

/** One queue's counts, one per counted state (see COUNTED_STATES). */
export type ChannelStatus = {
  name: string;
  /** Set on a topic subscriber's row. */
  subscriber?: string | undefined;
  /** Age of the oldest pending message in ms (from its id's send time), or null when none is pending. */
  oldest_pending_age_ms: number | null;
} & Record<CountedState, number>;

/** Channels: create, list, remove, configure; withdraw messages. */
export interface ChannelAdmin {
  /** Create the home and the default channels. Idempotent. */
  init(): Promise<{ home: string; created: boolean }>;
  createChannel(
    name: string,
    opts?: { description?: string | undefined; topic?: boolean | undefined },
  ): Promise<{ info: ChannelInfo; created: boolean }>;
  listChannels(): Promise<ChannelInfo[]>;
  channelInfo(name: string): Promise<ChannelInfo & { status: ChannelStatus }>;
  removeChannel(name: string): Promise<ChannelStatus>;
  /** Throws E_NO_CHANNEL (or the subscriber's error) unless the channel (and subscriber) exist; reads no messages. */
  requireChannel(channel: string, opts?: QueueOptions): Promise<void>;
  /** Withdraw a pending (unclaimed) message: archived with a reason; E_CONFLICT once claimed. */
  cancel(channel: string, id: string, opts?: QueueOptions): Promise<void>;
  /** Move every pending message to the archive with `reason`; returns the ids moved. */
  purge(channel: string, reason: string, opts?: QueueOptions): Promise<string[]>;
  /** The channel's supervision policy. */
  policy(channel: string): Promise<Policy>;
}

export interface ListEntry {
  id: string;
  state: ListState;
  file: string;
  /** The parsed message (request or response), when the file is valid. */
  message?: Request | Response | undefined;
  /** Why the file could not be read as a message. */
  problem?: string | undefined;
  /** Why it is in this state (dead letters, expired, withdrawn, rejected), when recorded. */
  reason?: Record<string, unknown> | undefined;
  mtimeMs: number;
}

export interface FoundMessage {
  channel: string;
  /** The topic subscriber whose copy this is, if it was found only in one. */
  subscriber?: string | undefined;
  state: StateName;
  request?: Request | undefined;
  response?: Response | undefined;
  /** Why it is in this state: a dead letter's last error, an expired message's TTL, a withdrawal's reason. */
  reason?: Record<string, unknown> | undefined;
  /** The lease of a claimed message. */
  lease?: Lease | undefined;
  /** Where the message and its answer are (files, or records for JetStream). */
  files: string[];
}

/** What `abq tail` yields: each message and each answer as it appears. */
export type TailEvent = { kind: "message"; message: Request } | { kind: "response"; response: Response };

/** Read-only views: counts, listings, finding a message in any state. */
export interface Inspection {
  /**
   * Follow a queue: yield what appears from now on, until `signal` aborts. Optional: without it, `tail`
   * lists the queue's states on each wake-up.
   */
  follow?(
    channel: string,
    opts: QueueOptions & { signal?: AbortSignal | undefined; backstopMs: number },
  ): AsyncGenerator<TailEvent>;
  status(): Promise<ChannelStatus[]>;
  /**
   * `onTotal`, when the listing counted them anyway (the spool lists the whole folder to sort it), is told
   * how many entries the state holds, so a caller that wants the total need not `count` again.
   */
  list(
    channel: string,
    state: ListState,
    opts: { limit: number; oldestFirst: boolean; onTotal?: ((total: number) => void) | undefined } & QueueOptions,
  ): Promise<ListEntry[]>;
  count(channel: string, state: ListState, opts?: QueueOptions): Promise<number>;
  find(id: string, channel?: string): Promise<FoundMessage>;
}

/** Maintenance: take back lost claims, sweep, dead letters, the event log, policies. */
export interface Supervision {
  requeue(opts?: RequeueOptions): Promise<RequeueResult[]>;
  sweep(opts?: { channel?: string | undefined; dryRun?: boolean | undefined }): Promise<SweepReport[]>;
  dead(
    channel: string,
    opts?: QueueOptions,
  ): Promise<Array<{ id: string; reason: Record<string, unknown> | undefined }>>;
  trace(id: string, channel?: string): Promise<LifecycleEvent[]>;
  configure(channel: string, changes: PolicyInput): Promise<Policy>;
}

export interface Topics {
  /** Add a named subscriber to a topic (idempotent); it receives messages published from now on. */
  subscribe(topic: string, name: string): Promise<{ created: boolean }>;
  unsubscribe(topic: string, name: string): Promise<void>;
}
