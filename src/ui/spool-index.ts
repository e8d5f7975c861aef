/**
 * `status` for the dashboard on the file spool, from FolderIndex instead of listing every folder on each
 * update, with the same rules as the library's count (`countable` in src/spool/listing.ts) and the same
 * oldest-pending age (from the smallest id, as src/spool/inspect.ts does). Also the sorted names of one
 * state, so a page of a deep queue is a slice, not a listing. The queues themselves come from the
 * library (`listChannels`); the counts are checked against `status()` at every resync.
 */
import { join } from "node:path";
import type { ChannelStatus, CountedState, ListState } from "../lifecycle/transport.ts";
import { COUNTED_STATES } from "../lifecycle/states.ts";
import { idTime } from "../protocol/ids.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";
import { COUNTED_FOLDER, countable, FOLDER } from "../spool/counts.ts";
import { queueOf } from "../spool/paths.ts";
import { FolderIndex } from "./folder-index.ts";

export interface QueueRef {
  name: string;
  subscriber?: string | undefined;
}

interface Counted {
  version: number;
  names: string[];
  sorted?: string[] | undefined;
}

export class SpoolIndex {
  private readonly home: string;
  private readonly folders = new Map<string, FolderIndex>();
  private readonly counted = new Map<string, Counted>();
  private readonly onChange: () => void;

  constructor(home: string, onChange: () => void) {
    this.home = home;
    this.onChange = onChange;
  }

  /** One status row per queue, as `status()` would give it. */
  async status(queues: readonly QueueRef[]): Promise<ChannelStatus[]> {
    const rows: ChannelStatus[] = [];
    const wanted = new Set<string>();
    for (const q of queues) {
      const counts = {} as Record<CountedState, number>;
      for (const c of COUNTED_STATES) {
        counts[c] = (await this.entry(q, COUNTED_FOLDER[c], wanted)).names.length;
      }
      const pending = (await this.entry(q, "requests", wanted)).names;
      rows.push({
        name: q.name,
        ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
        ...counts,
        oldest_pending_age_ms: oldestAge(pending),
      });
    }
    for (const [dir, f] of this.folders) {
      if (wanted.has(dir)) continue; // a queue removed: stop watching it
      f.close();
      this.folders.delete(dir);
      this.counted.delete(dir);
    }
    return rows;
  }

  /** The countable names of one state of a queue, sorted (oldest first), as of now; sorted once per change. */
  async sorted(q: QueueRef, state: ListState): Promise<string[]> {
    const e = await this.entry(q, state);
    return (e.sorted ??= [...e.names].sort());
  }

  /** Read every folder whole on the next update (the kernel may have dropped events). */
  resync(): void {
    for (const f of this.folders.values()) f.resync();
  }

  close(): void {
    for (const f of this.folders.values()) f.close();
    this.folders.clear();
    this.counted.clear();
  }

  private async entry(q: QueueRef, state: ListState, wanted?: Set<string>): Promise<Counted> {
    const base = queueOf(this.home, q.name as ChannelName, q.subscriber as SubscriberName | undefined).dir;
    const dir = join(base, FOLDER[state]);
    wanted?.add(dir);
    let f = this.folders.get(dir);
    if (f === undefined) this.folders.set(dir, (f = new FolderIndex(dir, this.onChange)));
    await f.refresh();
    const cached = this.counted.get(dir);
    if (cached?.version === f.version) return cached;
    const fresh = { version: f.version, names: countable(state, [...f.list()]) };
    this.counted.set(dir, fresh);
    return fresh;
  }
}

/**
 * Age of the oldest pending message from the smallest id-named file (no I/O), or null when none. Files
 * not named like ids (a foreign writer's, rare) are left out; `abq status` ages them by mtime.
 */
function oldestAge(names: readonly string[]): number | null {
  let first: string | undefined;
  for (const n of names)
    if (n.startsWith("req_") && n.endsWith(".json") && (first === undefined || n < first)) first = n;
  if (first === undefined) return null;
  const t = idTime(first.slice(0, -".json".length));
  return t === undefined ? null : Math.max(0, Date.now() - t);
}
