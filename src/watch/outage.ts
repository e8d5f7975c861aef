/**
 * Rides out a bus that is briefly unreachable (a JetStream leader election longer than the transport's
 * own retries, a NATS server restarting). A claim or wait that fails with E_IO is reported as a warning
 * and tried again after a backoff (1 s doubling to 30 s), instead of ending `abq watch` with exit 6 and
 * leaving the channel without a worker. An outage that outlasts `maxOutageMs` is not brief: the error
 * stands, so a supervisor (or the user) sees it. Any other error is not an outage and passes through.
 */
import { AbqError } from "../protocol/errors.ts";
import { sleep } from "./lease-keeper.ts";

/** What `ride` returns when the call failed and its backoff has been waited out. */
export const OUTAGE = Symbol("outage");

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** How long the bus may stay unreachable before the watcher gives up (exit 6): long enough for elections. */
export const MAX_OUTAGE_MS = 10 * 60_000;

export class OutageRider {
  private since: number | undefined;
  private backoffMs = FIRST_BACKOFF_MS;
  private readonly warn: (message: string) => void;
  private readonly maxOutageMs: number;

  constructor(warn: (message: string) => void, maxOutageMs = MAX_OUTAGE_MS) {
    this.warn = warn;
    this.maxOutageMs = maxOutageMs;
  }

  async ride<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T | typeof OUTAGE> {
    try {
      const value = await call();
      this.since = undefined;
      this.backoffMs = FIRST_BACKOFF_MS;
      return value;
    } catch (err) {
      if (!(err instanceof AbqError) || err.code !== "E_IO") throw err;
      const now = Date.now();
      this.since ??= now;
      if (now - this.since >= this.maxOutageMs) throw err;
      this.warn(`the bus is not answering (${err.message}); trying again in ${this.backoffMs / 1000}s`);
      await sleep(this.backoffMs, signal);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      return OUTAGE;
    }
  }
}
