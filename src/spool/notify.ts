/**
 * Wake-ups for blocking calls (`recv --wait`, `watch`, `ask`). A kernel file watch on the folder wakes a
 * waiter at once; since watch events can be lost (or do not exist on network filesystems) callers also
 * wake on a short backstop timer and look again (see WakeLatch).
 */
import { type FSWatcher, watch } from "node:fs";
import { WakeLatch } from "../wake.ts";

export class FolderSignal {
  private watcher: FSWatcher | undefined;
  private readonly latch = new WakeLatch();
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.latch.poke());
      this.watcher.on("error", () => this.close());
    } catch {
      this.watcher = undefined; // no watch support here: the backstop timer alone keeps us going
    }
  }

  /** Resolves on the next change (or one seen since the last wait), after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return this.latch.wait(ms, signal);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.latch.release();
  }

  get folder(): string {
    return this.dir;
  }
}
