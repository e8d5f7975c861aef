/**
 * Wake-ups for blocking calls (`recv --wait`). A kernel file watch on the folder wakes a waiter at once;
 * since watch events can be lost (or do not exist on network filesystems) callers also wake on a short
 * backstop timer and look again. Events that arrive while nobody waits are remembered, so a message that
 * lands between "the queue was empty" and "start waiting" is not slept through.
 */
import { type FSWatcher, watch } from "node:fs";

export class FolderSignal {
  private watcher: FSWatcher | undefined;
  private dirty = false;
  private wake: (() => void) | undefined;

  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.poke());
      this.watcher.on("error", () => this.close());
    } catch {
      this.watcher = undefined; // no watch support here: the backstop timer alone keeps us going
    }
  }

  private poke(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Resolves on the next change (or one seen since the last wait), after `ms`, or when `signal` aborts. */
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

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.wake?.();
  }

  get folder(): string {
    return this.dir;
  }
}
