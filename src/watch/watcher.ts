/**
 * `abq watch`: claim messages as they arrive and run a handler for each.
 *
 * States: `running` → (stop) `draining` → `stopped`. Running, it keeps up to `concurrency` handlers busy,
 * oldest message first. It wakes on a kernel file event for the queue's `requests/` folder, on a handler
 * finishing, and on a backstop timer (file events can be lost under load and do not exist on network
 * filesystems); with `pollMs` it uses the timer alone. Draining, it claims nothing, lets running handlers
 * finish for up to `graceMs`, then kills what is left and puts those messages back. A second stop (or
 * `kill()`) skips the grace. Every timer and listener it made is gone once `run()` resolves.
 *
 * Why not chokidar: it re-reads and lstats the whole folder on every change, so with 100 000 pending
 * messages one wake-up cost ~170 ms of CPU and the watcher grew past 120 MB. The queue only needs "something
 * changed", which one inotify watch on the folder gives at O(1); the backstop covers the rest.
 */
import type { Claimed, FailureInfo, Transport } from "../transport.ts";
import { AbqError } from "../protocol/errors.ts";
import { EX_TEMPFAIL, handlerEnv, type HandlerRun, type HandlerSpec, runHandler } from "./handler.ts";
import { formatTimestamp, PROTOCOL_VERSION } from "../protocol/schema.ts";
import type { Response } from "../protocol/schema.ts";

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
      msgType: string;
      from: string;
      status: "success" | "error" | "retry";
      exitCode: number | undefined;
      ms: number;
      attempt: number;
      error?: string | undefined;
    }
  | { type: "released"; id: string; reason: string }
  | { type: "warning"; id?: string | undefined; message: string }
  | { type: "stopped"; handled: number; reason: string };

export interface WatchSummary {
  handled: number;
  succeeded: number;
  failed: number;
  retried: number;
}

export class Watcher {
  private readonly cfg: WatcherConfig;
  private state: "idle" | "running" | "draining" | "stopped" = "idle";
  private readonly inflight = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  /** Messages waiting out the retry delay, with the function that puts each back now. */
  private readonly retries = new Map<NodeJS.Timeout, () => Promise<void>>();
  private wakeSignal = new AbortController();
  private fatal: AbqError | undefined;
  private readonly summary: WatchSummary = { handled: 0, succeeded: 0, failed: 0, retried: 0 };

  constructor(cfg: WatcherConfig) {
    this.cfg = cfg;
  }

  /** Runs until stopped (or, with `once`, until the queue is drained). Rejects only when the handler cannot start. */
  async run(): Promise<WatchSummary> {
    if (this.state !== "idle") throw new Error("a Watcher runs once");
    this.state = "running";
    const { channel, as, concurrency, pollMs } = this.cfg;
    this.emit({
      type: "started",
      channel,
      subscriber: as,
      concurrency,
      mode: pollMs !== undefined ? "poll" : "events",
    });
    const onAbort = (): void => this.stop();
    this.cfg.signal?.addEventListener("abort", onAbort, { once: true });
    if (this.cfg.signal?.aborted === true) this.stop();
    const hb = this.cfg.heartbeat;
    const beat = (): void => void hb?.beat().catch(() => undefined);
    beat();
    const beating = hb ? setInterval(beat, hb.everyMs) : undefined;
    try {
      await this.loop();
      await this.drain();
    } finally {
      await this.flushRetries();
      this.cfg.signal?.removeEventListener("abort", onAbort);
      clearInterval(beating);
      await hb?.end().catch(() => undefined);
      await this.cfg.onClose?.();
      this.state = "stopped";
      this.emit({ type: "stopped", handled: this.summary.handled, reason: this.fatal?.message ?? "stopped" });
    }
    if (this.fatal) throw this.fatal;
    return this.summary;
  }

  /** Graceful stop: claim nothing more, let running handlers finish (up to the grace period). */
  stop(): void {
    if (this.state === "running") this.state = "draining";
    this.poke();
  }

  /** Immediate stop: kill running handlers and put their messages back. */
  kill(): void {
    this.stop();
    for (const { abort } of this.inflight.values()) abort.abort();
  }

  get running(): number {
    return this.inflight.size;
  }

  private async loop(): Promise<void> {
    const q = { as: this.cfg.as };
    const interval = this.cfg.pollMs ?? this.cfg.backstopMs;
    let nextTick = performance.now() + interval;
    for (;;) {
      let empty = false;
      while (this.state === "running" && this.inflight.size < this.cfg.concurrency) {
        const claimed = await this.cfg.transport.claim(this.cfg.channel, q);
        if (!claimed) {
          empty = true;
          break;
        }
        if (this.state !== "running") {
          await this.putBack(claimed.message.id, "watcher stopping before the handler started");
          break;
        }
        this.start(claimed);
      }
      if (this.state !== "running") return;
      if (this.cfg.once && empty && this.inflight.size === 0) return;
      const signal = this.wakeSignal.signal;
      if (this.cfg.pollMs !== undefined) {
        // Polls keep a fixed rate: a handler finishing (a poke) fills its slot at once, but does not push
        // the next poll back, which would stretch the period by the handler's run time.
        const now = performance.now();
        while (nextTick <= now) nextTick += interval;
        await sleep(nextTick - now, signal);
      } else if (empty) await this.cfg.transport.waitForChange(this.cfg.channel, interval, signal, q);
      else await sleep(interval, signal); // all slots busy: a handler finishing pokes us
      if (this.wakeSignal.signal.aborted) this.wakeSignal = new AbortController();
    }
  }

  private poke(): void {
    this.wakeSignal.abort();
  }

  private start(claimed: Claimed): void {
    const abort = new AbortController();
    const promise = this.handle(claimed, abort.signal)
      .catch(async (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.emit({ type: "warning", id: claimed.message.id, message });
        // Never leave a claim behind for the lease to expire: back to the queue as a failed attempt, so
        // a failure that repeats ends in dead/ with its reason instead of looping.
        await this.putBack(claimed.message.id, "watcher error", { reason: "watcher error", error: message });
      })
      .finally(() => {
        this.inflight.delete(claimed.message.id);
        this.poke();
      });
    this.inflight.set(claimed.message.id, { promise, abort });
  }

  private async handle(claimed: Claimed, signal: AbortSignal): Promise<void> {
    const m = claimed.message;
    const attempt = (typeof m["attempts"] === "number" ? m["attempts"] : 0) + 1;
    const leaseKeeper = this.keepLease(claimed);
    let run: HandlerRun;
    try {
      run = await runHandler(this.cfg.handler, claimed, {
        timeoutMs: this.cfg.handlerTimeoutMs,
        env: handlerEnv(claimed, this.cfg.home),
        signal,
        onStart: leaseKeeper.onStart,
      });
    } finally {
      await leaseKeeper.stop();
    }
    if (signal.aborted) return this.putBack(m.id, "watcher killed while the handler ran");
    if (run.startError !== undefined) {
      await this.putBack(m.id, "handler could not be started");
      this.fatal ??= new AbqError(
        "E_USAGE",
        `handler '${this.cfg.handler.display}' cannot be started: ${run.startError}`,
      );
      return this.kill();
    }
    const base = { id: m.id, msgType: m.type, from: m.from.agent, exitCode: run.exitCode, ms: run.ms, attempt };
    this.summary.handled++;
    const ok = run.exitCode === 0 && !run.timedOut;
    const error = ok ? null : describeFailure(run, this.cfg.handlerTimeoutMs);
    const tempfail = run.exitCode === EX_TEMPFAIL && !run.timedOut;
    if (tempfail || (!ok && this.cfg.retryErrors)) {
      this.summary.retried++;
      this.emit({ ...base, type: "handled", status: "retry", error: error ?? undefined });
      return this.retryLater(m.id, {
        reason: tempfail ? "handler asked for a retry (exit 75)" : "handler failed",
        error: error ?? undefined,
        exit_code: run.exitCode,
        stderr_tail: run.stderrTail,
      });
    }
    if (ok) this.summary.succeeded++;
    else this.summary.failed++;
    try {
      await this.cfg.transport.respond(this.cfg.channel, this.answer(m.id, ok, run.stdout, error), {
        as: this.cfg.as,
        lease: claimed.lease?.token,
      });
    } catch (err) {
      // Lease lost (the sweep requeued it while we ran) or answered by someone else: the spool kept our
      // answer aside; say so and carry on.
      return this.emit({ type: "warning", id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
    this.emit({ ...base, type: "handled", status: ok ? "success" : "error", error: error ?? undefined });
  }

  /**
   * Keeps the claim's lease alive while the handler runs: records the handler's process group once it
   * starts (so the sweep can stop an orphan if this watcher dies) and renews every third of the lease.
   * The stopper waits for any renewal still in flight, so none can land after the answer or release and
   * bring back a lease that was dropped (or overwrite the next owner's).
   */
  private keepLease(claimed: Claimed): { onStart: (pid: number) => void; stop: () => Promise<void> } {
    const lease = claimed.lease;
    const renew = this.cfg.transport.renew?.bind(this.cfg.transport);
    if (!lease || !renew) return { onStart: () => undefined, stop: () => Promise.resolve() };
    let inFlight: Promise<unknown> = Promise.resolve();
    let stopped = false;
    const send = (extra: { handlerPgid?: number }): void => {
      if (stopped) return;
      inFlight = inFlight
        .then(() => renew(this.cfg.channel, lease.id, lease.token, { as: this.cfg.as, ...extra }))
        .catch((err: unknown) =>
          this.emit({ type: "warning", id: lease.id, message: err instanceof Error ? err.message : String(err) }),
        );
    };
    const timer = setInterval(() => send({}), Math.max(100, (lease.lease_s * 1000) / 3));
    return {
      onStart: (pid) => send({ handlerPgid: pid }),
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await inFlight;
      },
    };
  }

  private answer(id: string, ok: boolean, result: string, error: string | null): Response {
    return {
      id,
      version: PROTOCOL_VERSION,
      status: ok ? "success" : "error",
      from: { agent: this.cfg.agent, pid: process.pid },
      result,
      error,
      timestamp: formatTimestamp(),
    };
  }

  /**
   * Exit 75: keep the message claimed for a moment (no hot loop, and it frees the handler slot), then
   * offer it again. With `once` it is held until the run ends, so one pass never takes a message twice.
   */
  private async retryLater(id: string, failure: FailureInfo): Promise<void> {
    // The spool applies the channel's backoff and dead-letters past max_attempts. With `once` the message
    // is held until the run ends, so one pass never takes a message twice.
    if (!this.cfg.once || this.state !== "running") return this.putBack(id, failure.reason, failure);
    const fire = (): Promise<void> => {
      clearTimeout(timer);
      this.retries.delete(timer);
      return this.putBack(id, failure.reason, failure);
    };
    const timer = setTimeout(() => void fire(), 2 ** 31 - 1);
    this.retries.set(timer, fire);
  }

  /** Stopping: messages waiting to be retried go back to the queue now rather than after their delay. */
  private async flushRetries(): Promise<void> {
    await Promise.all([...this.retries.values()].map((fire) => fire()));
  }

  private async putBack(id: string, reason: string, failure?: FailureInfo): Promise<void> {
    try {
      const outcome = await this.cfg.transport.release(this.cfg.channel, id, {
        as: this.cfg.as,
        retry: failure !== undefined,
        failure,
      });
      this.emit({ type: "released", id, reason: outcome === "dead" ? `${reason}; dead-lettered` : reason });
    } catch (err) {
      this.emit({
        type: "warning",
        id,
        message: `could not put ${id} back: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  /** Waits for running handlers up to the grace period, then kills the rest (their messages go back). */
  private async drain(): Promise<void> {
    await this.flushRetries();
    const all = Promise.all([...this.inflight.values()].map((h) => h.promise));
    const graceTimer = new AbortController();
    const timedOut = sleep(this.cfg.graceMs, graceTimer.signal).then(() => !graceTimer.signal.aborted);
    const expired = await Promise.race([all.then(() => false), timedOut]);
    graceTimer.abort();
    if (expired) {
      for (const { abort } of this.inflight.values()) abort.abort();
      await all;
    }
  }

  private emit(event: WatchEvent): void {
    this.cfg.onEvent?.(event);
  }
}

function describeFailure(run: HandlerRun, timeoutMs: number | undefined): string {
  const tail = run.stderrTail.trim();
  if (run.timedOut) return `handler timed out after ${(timeoutMs ?? 0) / 1000}s${tail ? `: ${tail}` : ""}`;
  if (tail !== "") return tail;
  return run.signal !== undefined ? `handler killed by ${run.signal}` : `handler exited with code ${run.exitCode}`;
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
