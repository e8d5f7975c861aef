/**
 * Keeps a claim's lease alive while its handler runs: records the handler's process group once it
 * starts (so the sweep can stop an orphan if the watcher dies) and renews every third of the lease. The
 * stopper waits for any renewal still in flight, so none can land after the answer or release and bring
 * back a lease that was dropped (or overwrite the next owner's). Also the watcher's small timing helpers.
 */
import type { ClaimHandle } from "../lifecycle/transport.ts";
import type { HandlerRun } from "./handler.ts";

export function keepLease(
  claimed: ClaimHandle,
  onWarning: (message: string) => void,
): { onStart: (pid: number) => void; stop: () => Promise<void> } {
  const lease = claimed.lease;
  if (!lease) return { onStart: () => undefined, stop: () => Promise.resolve() };
  let inFlight: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const send = (extra: { handlerPgid?: number }): void => {
    if (stopped) return;
    inFlight = inFlight
      .then(() => claimed.renew(extra))
      .catch((err: unknown) => onWarning(err instanceof Error ? err.message : String(err)));
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

export function describeFailure(run: HandlerRun, timeoutMs: number | undefined): string {
  const tail = run.stderrTail.trim();
  if (run.timedOut) return `handler timed out after ${(timeoutMs ?? 0) / 1000}s${tail ? `: ${tail}` : ""}`;
  if (tail !== "") return tail;
  return run.signal !== undefined ? `handler killed by ${run.signal}` : `handler exited with code ${run.exitCode}`;
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
