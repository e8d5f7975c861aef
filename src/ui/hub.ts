/**
 * The live stream: server-sent events to every open page. Changes (changes.ts) poke a latch; the hub
 * then takes one snapshot and sends it to every page. A burst of changes costs one snapshot, and snapshots
 * are spaced by at least twice what the last one cost, so a deep backlog (where counting takes longer)
 * slows the updates down instead of the machine. Nothing is computed while no page is open.
 */
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { WakeLatch } from "../wake.ts";
import { SAFE_HEADERS } from "./guard.ts";
import type { Snapshot } from "./snapshot.ts";

/** The shortest gap between two snapshots. */
const MIN_GAP_MS = 100;

export class Hub {
  private readonly clients = new Set<ServerResponse>();
  private readonly latch = new WakeLatch();
  private readonly stop = new AbortController();
  private last: string | undefined;
  private readonly take: () => Promise<Snapshot>;
  private readonly backstopMs: number;
  private readonly onSnapshot: (s: Snapshot) => void;
  private readonly onError: (err: unknown) => void;
  readonly running: Promise<void>;

  constructor(opts: {
    take: () => Promise<Snapshot>;
    backstopMs: number;
    onSnapshot: (s: Snapshot) => void;
    onError: (err: unknown) => void;
  }) {
    this.take = opts.take;
    this.backstopMs = opts.backstopMs;
    this.onSnapshot = opts.onSnapshot;
    this.onError = opts.onError;
    this.running = this.run();
  }

  /** Something may have changed. */
  poke(): void {
    this.latch.poke();
  }

  /** Starts streaming to a page: the last snapshot at once, then every new one. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      ...SAFE_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      Connection: "keep-alive",
    });
    res.write("retry: 1000\n\n");
    if (this.last !== undefined) res.write(this.last);
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    this.poke();
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const res of this.clients) res.end();
    this.clients.clear();
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      await this.latch.wait(this.backstopMs, signal);
      if (signal.aborted) return;
      if (this.clients.size === 0) continue;
      const started = Date.now();
      try {
        const snap = await this.take();
        this.onSnapshot(snap);
        this.broadcast("snapshot", JSON.stringify(snap));
      } catch (err) {
        this.onError(err);
        const e = err as { code?: unknown; message?: unknown };
        const code = typeof e.code === "string" ? e.code : "E_IO";
        const message = typeof e.message === "string" ? e.message : "the bus could not be read";
        this.broadcast("problem", JSON.stringify({ code, message }));
      }
      const gap = Math.max(MIN_GAP_MS, 2 * (Date.now() - started));
      await sleep(gap, undefined, { signal }).catch(() => {});
    }
  }

  private broadcast(event: string, data: string): void {
    const frame = `event: ${event}\ndata: ${data}\n\n`;
    if (event === "snapshot") this.last = frame;
    for (const res of this.clients) res.write(frame);
  }
}
