/**
 * What wakes the dashboard up. On the file spool: kernel watches, the same wake-ups `watch` and
 * `recv --wait` use (src/spool/notify.ts), so a message sent from the CLI shows at once: on every state
 * folder (kept by spool-index.ts, which also counts from them), and here on each queue's folder (a state
 * folder made), on `channels/` (a channel made or removed) and on `agents/` (heartbeats). On other
 * transports: the transport's own `waitForChange` for each channel (NATS: a subscription on its
 * subjects). Either way the hub also refreshes on a backstop timer, since watch events can be lost and
 * not every change on NATS announces itself.
 */
import { type FSWatcher, watch } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ChannelStatus, Transport } from "../lifecycle/transport.ts";
import { queueOf } from "../spool/paths.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";

/** The shortest pause between two rounds of transport waits (a wait failing at once must not spin). */
const MIN_ROUND_MS = 200;

export class BusChanges {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly stop = new AbortController();
  private names: string[] = [];
  private readonly home: string | undefined;
  private readonly transport: Transport;
  private readonly poke: () => void;

  /** `home`: the spool's folder (undefined for a bus that is not a spool); `poke` is called on each change. */
  constructor(transport: Transport, home: string | undefined, poke: () => void, backstopMs: number) {
    this.transport = transport;
    this.home = home;
    this.poke = poke;
    if (home === undefined) void this.followTransport(backstopMs);
  }

  /** Watches the folders of the queues just seen (folders made since are picked up on the next call). */
  sync(rows: readonly ChannelStatus[]): void {
    this.names = [...new Set(rows.map((r) => r.name))];
    if (this.home === undefined) return;
    // channels/ and agents/ may not exist yet (a bus not made yet): watched once they do.
    const wanted = new Set<string>([join(this.home, "channels"), join(this.home, "agents")]);
    for (const r of rows) {
      const dir = queueOf(this.home, r.name as ChannelName, r.subscriber as SubscriberName | undefined).dir;
      wanted.add(dir);
    }
    for (const dir of wanted) if (!this.watchers.has(dir)) this.watchDir(dir);
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.close(); // a channel removed
      this.watchers.delete(dir);
    }
  }

  close(): void {
    this.stop.abort();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private watchDir(dir: string): void {
    try {
      const w = watch(dir, { persistent: false }, () => this.poke());
      w.on("error", () => {
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    } catch {
      // Not there yet (dead/ appears on first use) or no watch support: the backstop covers it.
    }
  }

  /** A transport without folders: wait on every channel at once, poke on the first change. */
  private async followTransport(backstopMs: number): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const started = Date.now();
      const round = new AbortController();
      const end = (): void => round.abort();
      signal.addEventListener("abort", end, { once: true });
      const waits = this.names.map((n) => this.transport.waitForChange(n, backstopMs, round.signal).catch(() => {}));
      await Promise.race([...waits, sleep(backstopMs, undefined, { signal: round.signal }).catch(() => {})]);
      round.abort();
      signal.removeEventListener("abort", end);
      if (signal.aborted) return;
      if (waits.length > 0) this.poke();
      const rest = MIN_ROUND_MS - (Date.now() - started);
      if (rest > 0) await sleep(rest, undefined, { signal }).catch(() => {});
    }
  }
}
