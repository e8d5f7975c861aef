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
import type { ClaimHandle, FailureInfo, Skipped } from "../lifecycle/transport.ts";
import { AbqError } from "../protocol/errors.ts";
import { attemptsOf } from "../protocol/schema.ts";
import { answerWithin, describeFailure } from "./failure.ts";
import { EX_TEMPFAIL, handlerEnv, type HandlerRun, runHandler } from "./handler.ts";
import { giveBack } from "./give-back.ts";
import { dropStaleWakeUps, keepLease, sleep } from "./lease-keeper.ts";
import { OUTAGE, OutageRider } from "./outage.ts";
import type { WatchEvent, WatcherConfig, WatchSummary } from "./watch-types.ts";

export type { WatchEvent, WatcherConfig, WatchSummary };

export class Watcher {
  private readonly cfg: WatcherConfig;
  private state: "idle" | "running" | "draining" | "stopped" = "idle";
  private readonly inflight = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  /** Messages waiting out the retry delay, with the function that puts each back now. */
  private readonly heldRetries: Array<() => Promise<void>> = [];
  private wakeSignal = new AbortController();
  private fatal: AbqError | undefined;
  private readonly summary: WatchSummary = { handled: 0, succeeded: 0, failed: 0, retried: 0, expired: 0, rejected: 0 };
  private readonly outage = new OutageRider((message) => this.emit({ type: "warning", message }));

  constructor(cfg: WatcherConfig) {
    this.cfg = cfg;
  }

  /** Runs until stopped (or, with `once`, until the queue is drained). Rejects only when the handler program cannot start. */
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

  private async loop(): Promise<void> {
    const { transport, channel } = this.cfg;
    const claimOpts = { as: this.cfg.as, onSkipped: (skipped: Skipped) => this.skipped(skipped) };
    const interval = this.cfg.pollMs ?? this.cfg.backstopMs;
    let nextTick = performance.now() + interval;
    for (;;) {
      let empty = false;
      const signal = this.wakeSignal.signal;
      if (this.cfg.pollMs === undefined) await dropStaleWakeUps(transport, channel, this.cfg.as);
      while (this.state === "running" && this.inflight.size < this.cfg.concurrency) {
        const claimed = await this.outage.ride(() => transport.claim(channel, claimOpts), signal);
        if (claimed === OUTAGE) break; // its backoff is over: look again
        if (!claimed) {
          empty = true;
          break;
        }
        if (this.state !== "running") {
          await this.putBack(claimed, "watcher stopping before the handler started");
          break;
        }
        this.start(claimed);
      }
      if (this.state !== "running") return;
      if (this.cfg.once && empty && this.inflight.size === 0) return;
      if (this.cfg.pollMs !== undefined) {
        // Polls keep a fixed rate: a handler finishing (a poke) fills its slot at once, but does not push
        // the next poll back, which would stretch the period by the handler's run time.
        const now = performance.now();
        while (nextTick <= now) nextTick += interval;
        await sleep(nextTick - now, signal);
      } else if (empty)
        await this.outage.ride(() => transport.waitForChange(channel, interval, signal, claimOpts), signal);
      else await sleep(interval, signal); // all slots busy: a handler finishing pokes us
      if (this.wakeSignal.signal.aborted) this.wakeSignal = new AbortController();
    }
  }

  private poke(): void {
    this.wakeSignal.abort();
  }

  /** Nothing is archived silently: every message a claim expired or rejected on the way is reported. */
  private skipped(skipped: Skipped): void {
    this.summary.expired += skipped.expired.length;
    this.summary.rejected += skipped.rejected.length;
    this.emit({ type: "skipped", expired: skipped.expired, rejected: skipped.rejected });
  }

  private start(claimed: ClaimHandle): void {
    const abort = new AbortController();
    const promise = this.handle(claimed, abort.signal)
      .catch(async (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.emit({ type: "warning", id: claimed.message.id, message });
        // Never leave a claim behind for the lease to expire: back to the queue as a failed attempt, so
        // a failure that repeats ends in dead/ with its reason instead of looping.
        await this.putBack(claimed, "watcher error", { reason: "watcher error", error: message });
      })
      .finally(() => {
        this.inflight.delete(claimed.message.id);
        this.poke();
      });
    this.inflight.set(claimed.message.id, { promise, abort });
  }

  private async handle(claimed: ClaimHandle, signal: AbortSignal): Promise<void> {
    const m = claimed.message;
    const attempt = attemptsOf(m) + 1;
    const leaseKeeper = keepLease(claimed, (message) => this.emit({ type: "warning", id: m.id, message }));
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
    if (signal.aborted) return this.putBack(claimed, "watcher killed while the handler ran");
    if (run.startError !== undefined && run.startErrorIsMessage) {
      // This message is what cannot be started (E2BIG, a NUL byte), not the handler: a failed attempt, so
      // it ends in dead/ with its reason while the messages behind it are handled.
      const reason = `handler could not be started for this message: ${run.startError}`;
      return this.retryLater(claimed, { reason, error: run.startError });
    }
    if (run.startError !== undefined) {
      await this.putBack(claimed, "handler could not be started");
      this.fatal ??= new AbqError(
        "E_USAGE",
        `handler '${this.cfg.handler.display}' cannot be started: ${run.startError}`,
      );
      return this.kill();
    }
    const base = { id: m.id, msg_type: m.type, from: m.from.agent, exit_code: run.exitCode, ms: run.ms, attempt };
    this.summary.handled++;
    const ok = run.exitCode === 0 && !run.timedOut;
    const error = ok ? null : describeFailure(run, this.cfg.handlerTimeoutMs);
    const tempfail = run.exitCode === EX_TEMPFAIL && !run.timedOut;
    if (tempfail || (!ok && this.cfg.retryErrors)) {
      this.summary.retried++;
      this.emit({ ...base, type: "handled", status: "retry", error: error ?? undefined });
      return this.retryLater(claimed, {
        reason: tempfail ? "handler asked for a retry (exit 75)" : "handler failed",
        error: error ?? undefined,
        exit_code: run.exitCode,
        stderr_tail: run.stderrTail,
      });
    }
    if (ok) this.summary.succeeded++;
    else this.summary.failed++;
    try {
      await answerWithin(claimed, ok, run.stdout, error ?? "handler failed");
    } catch (err) {
      // Lease lost (the sweep requeued it while we ran) or answered by someone else: the spool kept our
      // answer aside; say so and carry on.
      return this.emit({ type: "warning", id: m.id, message: err instanceof Error ? err.message : String(err) });
    }
    this.emit({ ...base, type: "handled", status: ok ? "success" : "error", error: error ?? undefined });
  }

  /**
   * Exit 75 (or a failure under retry_errors): back as a failed attempt, and the transport applies the
   * channel's backoff and dead-letters past max_attempts. With `once` it is held until the run ends
   * instead, so one pass never takes a message twice.
   */
  private async retryLater(claimed: ClaimHandle, failure: FailureInfo): Promise<void> {
    const putItBack = (): Promise<void> => this.putBack(claimed, failure.reason, failure);
    if (this.cfg.once && this.state === "running") this.heldRetries.push(putItBack);
    else await putItBack();
  }

  /** Stopping: messages held for a retry go back to the queue now. */
  private async flushRetries(): Promise<void> {
    await Promise.all(this.heldRetries.splice(0).map((putItBack) => putItBack()));
  }

  private putBack(claimed: ClaimHandle, reason: string, failure?: FailureInfo): Promise<void> {
    return giveBack(claimed, reason, failure, (event) => this.emit(event));
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
