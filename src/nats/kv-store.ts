/**
 * The compare-and-set register (src/kv/store.ts) on a JetStream KV bucket: a put with an expected
 * revision is JetStream's "expected last subject sequence", so the server lets exactly one of several
 * racing writers through. Revisions are the bucket's stream sequence numbers. abq never issues KV
 * deletes (a deleted kv key or released lock is a tombstone record), so "no key" always means revision 0.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { Kvm, type KV } from "@nats-io/kv";
import { AbqError } from "../protocol/errors.ts";
import type { Entry, RevStore, StoredRecord } from "../kv/types.ts";
import { describe, natsSettings, openConnection } from "./connect.ts";

/** JetStream's "wrong last sequence" (10071) and its variant for an unknown subject (10164). */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);

export class NatsKvStore implements RevStore {
  private readonly nc: NatsConnection;
  private readonly kv: KV;
  readonly where: string;

  private constructor(nc: NatsConnection, kv: KV, where: string) {
    this.nc = nc;
    this.kv = kv;
    this.where = where;
  }

  static async open(url: string, bucket: string): Promise<NatsKvStore> {
    const settings = natsSettings(url);
    const { nc } = await openConnection(settings);
    try {
      const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: settings.replicas });
      return new NatsKvStore(nc, kv, `NATS KV bucket ${bucket} at ${settings.display}`);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new AbqError("E_IO", `cannot open the NATS KV bucket ${bucket}: ${describe(err)}`, { cause: err });
    }
  }

  async get(key: string): Promise<Entry | undefined> {
    const entry = await this.call(() => this.kv.get(key));
    if (entry === null || entry.operation !== "PUT") return undefined;
    return { key, revision: entry.revision, record: parse(entry.string(), key) };
  }

  async put(key: string, record: StoredRecord, expected: number): Promise<number | undefined> {
    const data = JSON.stringify(record);
    try {
      return await (expected === 0 ? this.kv.create(key, data) : this.kv.update(key, data, expected));
    } catch (err) {
      if (
        typeof err === "object" &&
        err !== null &&
        WRONG_LAST_SEQUENCE.has(Number((err as { code?: unknown }).code))
      ) {
        return undefined;
      }
      if (err instanceof Error && /wrong last sequence/i.test(err.message)) return undefined;
      throw new AbqError("E_IO", `NATS KV put of '${key}' failed: ${describe(err)}`, { cause: err });
    }
  }

  async keys(): Promise<string[]> {
    const found: string[] = [];
    for await (const k of await this.call(() => this.kv.keys())) found.push(k);
    return found.sort();
  }

  async *watch(key: string | undefined, signal: AbortSignal): AsyncIterable<Entry> {
    const updates = await this.call(() => this.kv.watch({ key: key ?? ">" }));
    const stop = (): void => void updates.stop();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const e of updates) {
        if (e.operation === "PUT") yield { key: e.key, revision: e.revision, record: parse(e.string(), e.key) };
      }
    } finally {
      signal.removeEventListener("abort", stop);
      updates.stop();
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new AbqError("E_IO", `NATS KV request failed: ${describe(err)}`, { cause: err });
    }
  }
}

function parse(text: string, key: string): StoredRecord {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as StoredRecord;
  } catch {
    // reported below
  }
  throw new AbqError("E_BAD_MESSAGE", `NATS KV key '${key}' does not hold an abq record (written by another tool?)`);
}
