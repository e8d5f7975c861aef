/**
 * What a Watcher (watcher.ts) is given and what it reports: its configuration, its NDJSON events and
 * its summary.
 */
import type { Transport } from "../lifecycle/transport.ts";
import type { HandlerSpec } from "./handler.ts";

export interface WatcherConfig {
  transport: Transport;
  home: string;
  channel: string;
  as?: string | undefined;
  handler: HandlerSpec;
  agent: string;
  concurrency: number;
  /** Pure polling at this interval (ms) instead of file events. */
  pollMs?: number | undefined;
  /** Rescan interval alongside file events. */
  backstopMs: number;
  /** Kill a handler that runs longer than this (ms). */
  handlerTimeoutMs?: number | undefined;
  /** Handle what is waiting, then stop. */
  once: boolean;
  graceMs: number;
  /** Retry failed handlers (the channel's retry_errors policy) instead of answering `error`. */
  retryErrors: boolean;
  onEvent?: ((event: WatchEvent) => void) | undefined;
  /** Stop gracefully when this aborts. */
  signal?: AbortSignal | undefined;
  /** Called once `run()` is over (closes the transport the watcher was given to own). */
  onClose?: (() => Promise<void>) | undefined;
  /** Liveness: `beat` runs at start and every `everyMs`; `end` when the watcher stops. */
  heartbeat?: { beat: () => Promise<void>; end: () => Promise<void>; everyMs: number } | undefined;
}

export type WatchEvent =
  | { type: "started"; channel: string; subscriber?: string | undefined; concurrency: number; mode: "events" | "poll" }
  | {
      type: "handled";
      id: string;
      msg_type: string;
      from: string;
      status: "success" | "error" | "retry";
      exit_code: number | undefined;
      ms: number;
      attempt: number;
      error?: string | undefined;
    }
  | { type: "released"; id: string; reason: string }
  /** Messages a claim expired (TTL ran out) or rejected (invalid) instead of handing them out. */
  | { type: "skipped"; expired: string[]; rejected: string[] }
  | { type: "warning"; id?: string | undefined; message: string }
  | { type: "stopped"; handled: number; reason: string };

export interface WatchSummary {
  handled: number;
  succeeded: number;
  failed: number;
  retried: number;
  /** Messages expired on the way (moved to expired/). */
  expired: number;
  /** Files rejected on the way (moved to rejected/). */
  rejected: number;
}
