/**
 * The library side of `abq watch`: validate options once, resolve the channel and the caller, check the
 * handler can start, and hand back a `Watcher` ready to `run()`.
 */
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import { openTransport, parseInput, type CommonOptions, callerAgent } from "../api/options.ts";
import { resolveHome } from "../spool/paths.ts";
import { channelName, subscriberName } from "../protocol/names.ts";
import { isAddress, resolveAddress } from "../identity/address.ts";
import { checkHandler, parseHandler } from "./handler.ts";
import { MAX_TIMER_MS } from "./lease-keeper.ts";
import { Watcher, type WatchEvent } from "./watcher.ts";
import { capable } from "../lifecycle/transport.ts";
import { DEFAULT_HEARTBEAT_TTL_S, removeHeartbeat, writeHeartbeat } from "../liveness/heartbeat.ts";
import { HOST } from "../spool/lease.ts";

/** A running watcher announces itself for `abq check --channel X --alive` and `abq agents`. */
function watchHeartbeat(home: string, channel: string, as: string | undefined, agent: string) {
  const name = as !== undefined ? `${channel}.${as}` : channel;
  const ttl = DEFAULT_HEARTBEAT_TTL_S;
  const who = { name, watch: true, host: HOST, pid: process.pid };
  return {
    beat: async () => void (await writeHeartbeat(home, { ...who, channel, agent, ttl_s: ttl })),
    end: () => removeHeartbeat(home, who),
    everyMs: (ttl * 1000) / 3,
  };
}

export interface WatchOptions extends CommonOptions {
  /** Channel name, or `@self` / `@parent`. */
  channel: string;
  /** Program path, or a shell command line; gets the message file as `$1`. */
  handler: string;
  /** Handle a topic subscriber's copies. */
  as?: string | undefined;
  /** Handlers running at once. Default: 1. */
  concurrency?: number | undefined;
  /** Poll every `pollMs` ms instead of using file events. */
  pollMs?: number | undefined;
  /** Seconds a handler may run before its process group is killed. Default: no limit. */
  timeout?: number | undefined;
  /** Handle what is waiting, then stop. Default: false. */
  once?: boolean | undefined;
  /** Seconds running handlers get to finish after a stop. Default: 10. */
  grace?: number | undefined;
  /** Stop (gracefully) when this aborts. */
  signal?: AbortSignal | undefined;
  onEvent?: ((event: WatchEvent) => void) | undefined;
}

/** Seconds that still fit a Node timer: a larger --timeout used to fire after 1 ms and kill every handler. */
const MAX_TIMER_S = Math.floor(MAX_TIMER_MS / 1000);

const atMostSeconds = () => z.maximum(MAX_TIMER_S, `must be at most ${MAX_TIMER_S} seconds (about 24 days)`);

const watchInput = lazy(() =>
  z.object({
    channel: z.pipe(
      z.string(),
      z.transform((n: string) => channelName(n)),
    ),
    handler: z.string().check(z.minLength(1, "give a handler: --handler <program or command line>")),
    as: z.optional(
      z.pipe(
        z.string(),
        z.transform((n: string) => subscriberName(n)),
      ),
    ),
    concurrency: z._default(z.int("must be a whole number").check(z.minimum(1), z.maximum(256)), 1),
    pollMs: z.optional(
      z
        .int()
        .check(z.minimum(10, "must be at least 10 ms"), z.maximum(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms`)),
    ),
    timeout: z.optional(z.number().check(z.positive(), atMostSeconds())),
    once: z._default(z.boolean(), false),
    grace: z._default(z.number().check(z.nonnegative(), atMostSeconds()), 10),
  }),
);

/** Builds a watcher; `run()` it, `stop()` it. The transport it opened closes when `run()` ends. */
export async function createWatcher(opts: WatchOptions): Promise<Watcher> {
  const channel = await resolveAddress(opts.channel, opts.cwd);
  const input = parseInput(watchInput(), { ...opts, channel });
  const handler = parseHandler(input.handler, opts.cwd ?? process.cwd());
  await checkHandler(handler);
  const agent = await callerAgent(opts);
  const { transport, owned } = await openTransport(opts, agent);
  const admin = capable(transport, "admin", "abq watch");
  if (isAddress(opts.channel)) await admin.createChannel(channel);
  // Fail now (not inside the loop) on a missing channel or subscriber; without listing the backlog.
  await admin.requireChannel(channel, { as: input.as });
  const watcher = new Watcher({
    transport,
    home: resolveHome(opts),
    channel,
    as: input.as,
    handler,
    agent,
    concurrency: input.concurrency,
    pollMs: input.pollMs,
    backstopMs: 1000,
    handlerTimeoutMs: input.timeout !== undefined ? input.timeout * 1000 : undefined,
    once: input.once,
    graceMs: input.grace * 1000,
    retryErrors: (await admin.policy(channel)).retry_errors,
    onEvent: opts.onEvent,
    signal: opts.signal,
    // Liveness is part of supervision: a bus that supervises its watchers gets their heartbeats.
    heartbeat: transport.capabilities.has("supervise")
      ? watchHeartbeat(resolveHome(opts), channel, input.as, agent)
      : undefined,
    onClose: owned ? () => transport.close() : undefined,
  });
  return watcher;
}

export { Watcher };
export type { WatchEvent, WatchSummary } from "./watcher.ts";
export { parseHandler, EX_TEMPFAIL, MAX_ENV_CONTENT } from "./handler.ts";
