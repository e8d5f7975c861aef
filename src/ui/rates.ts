/**
 * The sparklines: messages sent and finished per 10 s over the last 5 minutes, per queue and in total.
 * They are derived from successive `status` counts, so they work on every transport without reading any
 * log: a queue's requests sit in exactly one of pending, delayed, claimed, archived, dead, expired or
 * rejected, so a rise of that sum is messages sent, and a rise of `archived` is messages finished
 * (answered, acknowledged or withdrawn). A fall (the sweep pruning the archive, a channel removed) counts
 * as nothing. History starts when the dashboard does.
 */
import type { ChannelStatus } from "../lifecycle/transport.ts";

export const BUCKET_MS = 10_000;
export const BUCKETS = 30;

export interface RateSeries {
  /** Oldest bucket first; the last one is the current, partial bucket. */
  sent: number[];
  finished: number[];
}

interface Totals {
  sent: number;
  finished: number;
}

function totalsOf(row: ChannelStatus): Totals {
  return {
    sent: row.pending + row.delayed + row.processing + row.archived + row.dead + row.expired + row.rejected,
    finished: row.archived,
  };
}

/** The key of a status row: its channel, or `channel/subscriber` for a topic subscriber's copy. */
export function queueKey(row: Pick<ChannelStatus, "name" | "subscriber">): string {
  return row.subscriber === undefined ? row.name : `${row.name}/${row.subscriber}`;
}

export class Rates {
  private readonly last = new Map<string, Totals>();
  private readonly series = new Map<string, { sent: number[]; finished: number[]; bucket: number }>();

  /** Takes in a new set of counts, seen at `now`. */
  observe(rows: readonly ChannelStatus[], now = Date.now()): void {
    const bucket = Math.floor(now / BUCKET_MS);
    for (const row of rows) {
      const key = queueKey(row);
      const totals = totalsOf(row);
      const before = this.last.get(key);
      this.last.set(key, totals);
      const s = this.advance(key, bucket);
      if (before === undefined) continue; // first sight: its backlog is not a rate
      s.sent[BUCKETS - 1]! += Math.max(0, totals.sent - before.sent);
      s.finished[BUCKETS - 1]! += Math.max(0, totals.finished - before.finished);
    }
    const seen = new Set(rows.map(queueKey));
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.last.delete(key);
      this.series.delete(key);
    }
  }

  /** Every queue's series, and `*`: all of them added up (a topic's subscriber copies left out). */
  snapshot(now = Date.now()): Record<string, RateSeries> {
    const bucket = Math.floor(now / BUCKET_MS);
    const out: Record<string, RateSeries> = {};
    const total: RateSeries = {
      sent: new Array<number>(BUCKETS).fill(0),
      finished: new Array<number>(BUCKETS).fill(0),
    };
    for (const key of this.series.keys()) {
      const s = this.advance(key, bucket);
      out[key] = { sent: [...s.sent], finished: [...s.finished] };
      if (key.includes("/")) continue;
      s.sent.forEach((n, i) => (total.sent[i]! += n));
      s.finished.forEach((n, i) => (total.finished[i]! += n));
    }
    out["*"] = total;
    return out;
  }

  /** A queue's buckets, shifted so the last one is `bucket`. */
  private advance(key: string, bucket: number): { sent: number[]; finished: number[]; bucket: number } {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { sent: new Array<number>(BUCKETS).fill(0), finished: new Array<number>(BUCKETS).fill(0), bucket };
      this.series.set(key, s);
    }
    const shift = Math.min(BUCKETS, Math.max(0, bucket - s.bucket));
    for (let i = 0; i < shift; i++) {
      s.sent.shift();
      s.sent.push(0);
      s.finished.shift();
      s.finished.push(0);
    }
    s.bucket = bucket;
    return s;
  }
}
