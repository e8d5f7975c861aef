/**
 * What every NATS module works with: one connection, its JetStream manager and the state bucket, plus
 * the settings and who we are. The transport owns it; helpers take it as their first argument. The
 * settings type lives here rather than in connect.ts (which reads them) so the two do not import each other.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";

export interface NatsContext {
  s: NatsSettings;
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
  kv: KV;
  /** Who is acting: recorded in claims and reasons. */
  agent: string;
  /** ABQ_HOME: claimed messages are materialised under it for handlers (`$1`). */
  home: string;
}

/** Milliseconds → the nanoseconds JetStream's API wants. */
export function nanos(ms: number): number {
  return Math.round(ms * 1_000_000);
}

/** One queue: a channel's shared copy, or a topic subscriber's. */
export interface NatsQueue {
  channel: ChannelName;
  subscriber: SubscriberName | undefined;
}

export interface NatsSettings {
  /** As given (may hold credentials: print `display` instead). */
  url: string;
  display: string;
  connectTimeoutMs: number;
  /** How long a request may wait for the server before it counts as failed. */
  requestTimeoutMs: number;
  /**
   * How long a step keeps retrying through a disconnect (server restart) or a cluster's leader election
   * before giving up: connecting's JetStream check and state bucket, sends, claims, answers, replies.
   */
  retryForMs: number;
  /** The lease: JetStream's ack wait on the consumers abq creates. */
  ackWaitMs: number;
  /** Set when ABQ_NATS_ACK_WAIT_MS was given, so existing consumers are brought in line. */
  ackWaitExplicit: boolean;
  /** Deliveries before a message becomes a dead letter (failed handlers and expired leases both count). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to 300 s. */
  backoffMs: number;
  /** `num_replicas` of the streams (channels, reply inboxes) and the KV bucket abq creates. */
  replicas: number;
  /** The server's cluster name once connected (its INFO), for error hints; undefined on a single server. */
  cluster?: string | undefined;
}
