/**
 * Presence for a long-running process that speaks for an agent (the MCP server): a heartbeat named by
 * the agent's identity, on its inbox channel, refreshed every third of its TTL and removed when the
 * process stops. So `abq agents`, `abq check --channel <inbox> --alive` and `abq_status` see an agent
 * that is only waiting in a tool call, and an address like `api/main` finds it.
 *
 * Presence must never cost the process its work: a heartbeat that cannot be written (a read-only or
 * unsafe bus home) is reported to `onError` and retried on the next beat, nothing more.
 */
import { inboxName } from "../identity/index.ts";
import { HOST } from "../spool/lease.ts";
import { DEFAULT_HEARTBEAT_TTL_S, type Heartbeat, removeHeartbeat, writeHeartbeat } from "./heartbeat.ts";

export interface PresenceOptions {
  home: string;
  /** The identity this process speaks for. */
  agent: string;
  /** Seconds each heartbeat counts. Default: 30. */
  ttl?: number | undefined;
  /** Told when a heartbeat could not be written or removed. Default: ignore. */
  onError?: ((err: unknown) => void) | undefined;
}

export interface Presence {
  /** The heartbeat as last written (undefined until the first write succeeded). */
  readonly current: Heartbeat | undefined;
  /** Resolves once the first heartbeat was written (or failed). */
  readonly ready: Promise<void>;
  /** Stops refreshing and removes the heartbeat; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts announcing `agent` as an MCP session; the first heartbeat is written at once. */
export function startPresence(opts: PresenceOptions): Presence {
  const ttl = opts.ttl ?? DEFAULT_HEARTBEAT_TTL_S;
  const key = { name: opts.agent, watch: true, kind: "mcp" as const, host: HOST, pid: process.pid };
  const beat = { ...key, channel: inboxName(opts.agent), agent: opts.agent, ttl_s: ttl };
  const report = opts.onError ?? ((): void => undefined);
  let current: Heartbeat | undefined;
  let stopped = false;
  // Beats run one after another, so stop() can wait for the last one before removing the file (a beat
  // finishing after the removal would bring it back).
  let chain: Promise<void> = Promise.resolve();
  const write = (): Promise<void> =>
    (chain = chain.then(async () => {
      if (stopped) return;
      current = await writeHeartbeat(opts.home, beat).catch((err: unknown) => {
        report(err);
        return current;
      });
    }));
  const ready = write();
  // A third of the TTL: two beats can be lost before the heartbeat lapses. unref: presence alone must
  // not keep the process running.
  const timer = setInterval(() => void write(), (ttl * 1000) / 3);
  timer.unref();
  return {
    get current() {
      return current;
    },
    ready,
    async stop() {
      if (stopped) return chain;
      stopped = true;
      clearInterval(timer);
      chain = chain.then(() => removeHeartbeat(opts.home, key).catch(report));
      return chain;
    },
  };
}
