/**
 * One KV record per message per queue (`<channel>.<queue>.<id>` in bucket `abq_state`) carries what a
 * work-queue stream cannot: who holds the claim, the answer, and the archive. Every transition is a KV
 * `create` (no record yet) or `update(revision)` (compare-and-set), so of two racing writers exactly one
 * wins — this is the fence against JetStream's late acks: an ack is only sent by the writer that won.
 *
 * | record state | meaning                                 | stream message        |
 * |--------------|-----------------------------------------|-----------------------|
 * | (none)       | pending, never claimed                  | present               |
 * | `released`   | given back (`releases`, due at `dueMs`) | present, nak'ed       |
 * | `claimed`    | a consumer holds it (`claim` says who)  | present, ack pending  |
 * | `answered`   | final answer written, sender not yet read | acked (deleted)     |
 * | `read`       | sender read the answer (archive)        | gone                  |
 * | `acked`      | done without an answer (`reason`)       | acked (deleted)       |
 * | `cancelled`  | withdrawn by cancel or purge (`reason`) | deleted               |
 * | `rejected`   | not a valid message (`problem`)         | terminated            |
 * | `dead`       | out of attempts (`problem`, `failure`)  | terminated            |
 *
 * A `released` record exists because JetStream counts every delivery, a plain release too: the record
 * carries how many deliveries were releases, so only failed attempts count towards max attempts. An
 * answer given under a lost lease is kept under its own key, `<record key>.late.<seq>_<delivery>` (state
 * `late`), which the `<channel>.<queue>.*` listings do not match.
 */
import type { KV } from "@nats-io/kv";
import type { Request, Response } from "../protocol/schema.ts";
import type { FailureInfo } from "../lifecycle/records.ts";

export type RecordState =
  "released" | "claimed" | "answered" | "read" | "acked" | "cancelled" | "rejected" | "dead" | "late";

export interface ClaimInfo {
  /** JetStream's ack subject of this delivery: any process may ack, nak or renew through it. */
  ack: string;
  delivery: number;
  seq: number;
  by: string;
  pid: number;
  host: string;
  at: string;
}

export interface StateRecord {
  state: RecordState;
  /** Copy of the request, so it stays browsable after the work queue dropped it. */
  request?: Request | undefined;
  response?: Response | undefined;
  /** The latest `pending` progress note. */
  note?: Response | undefined;
  claim?: ClaimInfo | undefined;
  reason?: { reason: string; by: string; at: string } | undefined;
  problem?: string | undefined;
  /** Why the last attempt failed, for dead letters. */
  failure?: FailureInfo | undefined;
  /** Start of an invalid message's bytes, for `ls rejected`. */
  raw?: string | undefined;
  /** Deliveries that were plain releases (not failed attempts); carried from claim to claim. */
  releases?: number | undefined;
  /** A released message is not delivered again before this time (ms). */
  dueMs?: number | undefined;
  /** When the record last changed (ms), for listings. */
  updatedMs: number;
}

export interface Versioned {
  record: StateRecord;
  /** null: a claim's record that is not written yet (src/nats/claim.ts, `recordClaim`). */
  revision: number | null;
}

/** A record as stored: always at some revision. */
export interface Stored extends Versioned {
  revision: number;
}

const enc = new TextEncoder();

function encode(record: StateRecord): Uint8Array {
  return enc.encode(JSON.stringify(record));
}

/** JetStream's "wrong last sequence": someone else wrote the key first. */
function isCasConflict(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === 10071;
}

export async function getRecord(kv: KV, key: string): Promise<Stored | null> {
  const entry = await kv.get(key);
  if (!entry || entry.operation !== "PUT" || entry.value.length === 0) return null;
  return { record: entry.json<StateRecord>(), revision: entry.revision };
}

/** Creates the record; null when one exists already. */
export async function createRecord(kv: KV, key: string, record: StateRecord): Promise<number | null> {
  try {
    return await kv.create(key, encode(record));
  } catch (err) {
    if (isCasConflict(err)) return null;
    throw err;
  }
}

/** Replaces the record if it is still at `revision`; null when another writer got there first. */
export async function updateRecord(kv: KV, key: string, record: StateRecord, revision: number): Promise<number | null> {
  try {
    return await kv.update(key, encode(record), revision);
  } catch (err) {
    if (isCasConflict(err)) return null;
    throw err;
  }
}

/** Reads every record under a key filter (e.g. one channel), with its key. */
export async function readRecords(kv: KV, filter: string): Promise<{ key: string; record: StateRecord }[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  keys.sort();
  const out: { key: string; record: StateRecord }[] = [];
  // A few at a time: one round trip each, but not thousands in flight.
  for (let i = 0; i < keys.length; i += 64) {
    const batch = await Promise.all(keys.slice(i, i + 64).map(async (key) => ({ key, got: await getRecord(kv, key) })));
    for (const { key, got } of batch) if (got) out.push({ key, record: got.record });
  }
  return out;
}
