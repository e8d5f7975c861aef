/**
 * What every NATS module works with: one connection, its JetStream manager and the state bucket, plus
 * the settings and who we are. The transport owns it; helpers take it as their first argument.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsSettings } from "./connect.ts";

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
  channel: string;
  subscriber: string | undefined;
}
