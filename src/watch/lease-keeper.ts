/**
 * Keeps a claim's lease alive while its handler runs: records the handler's process group once it
 * starts (so the sweep can stop an orphan if the watcher dies) and renews every third of the lease. The
 * stopper waits for any renewal still in flight, so none can land after the answer or release and bring
 * back a lease that was dropped (or overwrite the next owner's). Also the watcher's small timing helpers.
 */
import type { ClaimHandle, Transport } from "../lifecycle/transport.ts";

/** Node's timers hold a signed 32-bit count of ms: anything larger fires after 1 ms instead (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Renew this often: a third of the lease, at least 0.1 s, and within what a timer can hold (lease_s is unbounded). */
export function renewEveryMs(leaseS: number): number {
  const third = (leaseS * 1000) / 3;
  return Number.isFinite(third) ? Math.min(MAX_TIMER_MS, Math.max(100, third)) : MAX_TIMER_MS;
}

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
  const timer = setInterval(() => send({}), renewEveryMs(lease.lease_s));
  return {
    onStart: (pid) => send({ handlerPgid: pid }),
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
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
    // Clamped: 24.8 days is forever for a poll or a grace period, while an overflow would fire in 1 ms.
    const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    signal.addEventListener("abort", done, { once: true });
  });
}

const SPENT = AbortSignal.abort();

/**
 * Called as a claim round begins. A round that ends empty has listed the queue after it began, so
 * wake-ups from before it are answered by that listing; among them is the folder event of our own last
 * claim (its rename out of `requests/`), which cost every message a second, empty pass. A wait on an
 * aborted signal returns at once and clears them (the first one also starts the folder watch, before
 * the first listing). JetStream's claims publish nothing and its pokes can precede the stored message,
 * so it keeps them.
 */
export async function dropStaleWakeUps(t: Transport, channel: string, as: string | undefined): Promise<void> {
  if (t.scheme !== "file") return;
  // An error here is the folder's: the wait after an empty round meets it again and reports it.
  await t.waitForChange(channel, 0, SPENT, { as }).catch(() => undefined);
}
