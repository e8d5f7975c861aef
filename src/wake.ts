/**
 * A wake-up latch for blocking calls: `poke()` wakes the current waiter, or is remembered when nobody
 * waits, so a caller that found nothing and then waits cannot sleep through an event that came in
 * between. `wait` also ends after `ms` (the backstop) or when its signal aborts, leaving no timer behind.
 * The file spool pokes it from a folder watch, the NATS transport from a subscription.
 */
export class WakeLatch {
  private dirty = false;
  private wake: (() => void) | undefined;

  poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.dirty || signal?.aborted === true) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.wake = undefined;
        this.dirty = false;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
      this.wake = done;
    });
  }

  /** Lets a current waiter go (on close). */
  release(): void {
    this.wake?.();
  }
}
