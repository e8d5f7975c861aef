/**
 * The names in the spool's state folders, kept current from kernel watch events instead of re-reading
 * the folders: with 100 000 messages in `requests/`, a new one costs one `lstat` of its name, not a
 * listing of 100 000. Each folder is read whole once when first watched, and again after a resync
 * (the hub asks for one every minute, since the kernel may drop events under load) or when its watch
 * reports a change without a name.
 */
import { type FSWatcher, watch } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";

export class FolderIndex {
  readonly dir: string;
  /** Bumped on every change to `names`: caches derived from them key on it. */
  version = 0;
  private names = new Set<string>();
  private readonly touched = new Set<string>();
  private stale = true;
  private watcher: FSWatcher | undefined;
  private readonly onChange: () => void;
  /** The refresh under way: refreshes run one after another (see refresh). */
  private current: Promise<void> = Promise.resolve();

  constructor(dir: string, onChange: () => void) {
    this.dir = dir;
    this.onChange = onChange;
  }

  /**
   * Brings the names up to date: a full read when stale, else one lstat per name the kernel reported.
   * One at a time: the snapshot and a page request often ask together, and a second refresh during a
   * whole read would return the names from before it (none, the first time), or lstat a name the read
   * then overwrites.
   */
  refresh(): Promise<void> {
    const next = this.current.then(
      () => this.refreshNow(),
      () => this.refreshNow(),
    );
    this.current = next;
    return next;
  }

  private async refreshNow(): Promise<void> {
    // Watch before reading, so nothing that changes during the read is missed (it is re-checked next time).
    if (this.watcher === undefined) this.startWatch();
    if (this.stale) {
      this.stale = false;
      this.touched.clear();
      const names = await readdir(this.dir).catch((err: unknown) => {
        if (errnoCode(err) === "ENOENT") return [];
        this.stale = true;
        throw err;
      });
      this.names = new Set(names);
      this.version++;
      return;
    }
    if (this.touched.size === 0) return;
    const names = [...this.touched];
    this.touched.clear();
    for (const name of names) {
      const there = await lstat(join(this.dir, name)).then(
        () => true,
        () => false,
      );
      if (there !== this.names.has(name)) {
        if (there) this.names.add(name);
        else this.names.delete(name);
        this.version++;
      }
    }
  }

  /** The names as of the last refresh. */
  list(): IterableIterator<string> {
    return this.names.values();
  }

  /** Watch anew and read the whole folder on the next refresh (the folder may even have been replaced). */
  resync(): void {
    this.close();
    this.stale = true;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Starts the watch; whatever it began on must be read whole (changes before it went unseen). */
  private startWatch(): void {
    this.stale = true;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null) this.stale = true;
        else this.touched.add(name);
        this.onChange();
      });
      this.watcher.on("error", () => {
        this.close();
        this.stale = true;
      });
    } catch {
      // Not made yet (dead/ appears on first use): read as empty, and watched once it exists.
    }
  }
}
