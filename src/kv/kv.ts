/**
 * Shared key-value state: `abq kv`. A bucket holds keys; each key's value is text with a revision that
 * every write increases, so writers can compare-and-set (`ifRevision`, `ifAbsent`) and exactly one of
 * several racing writers wins each revision. A key may carry a TTL: once it has passed, the key reads as
 * absent (and `ifAbsent` may take it). A delete writes a tombstone revision, so a writer still holding the
 * revision before the delete fails instead of resurrecting the key.
 */
import type { CommonOptions } from "../api/options.ts";
import { callerAgent } from "../api/options.ts";
import { MAX_SPAN_S } from "../protocol/constants.ts";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import { bucketName, keyName } from "./names.ts";
import { type Entry, openStore, type RevStore, type StoredRecord, withStore } from "./store.ts";

/** Largest value (bytes of UTF-8): kv is for small shared state; larger data belongs in a message. */
export const MAX_KV_VALUE_BYTES = 256 * 1024;
/** How often an unconditional set retries when other writers keep moving the key on. */
const MAX_SET_ATTEMPTS = 1000;

export interface KvEntry {
  bucket: string;
  key: string;
  revision: number;
  value: string;
  updated_at: string;
  updated_by: string;
  expires_at?: string | undefined;
}

export interface KvKeyOptions extends CommonOptions {
  bucket: string;
  key: string;
}

export interface KvSetOptions extends KvKeyOptions {
  value: string;
  /** Write only if the key is at this revision now (0: it was never written). E_CONFLICT otherwise. */
  ifRevision?: number | undefined;
  /** Write only if the key has no live value (never written, deleted or expired). E_CONFLICT otherwise. */
  ifAbsent?: boolean | undefined;
  /** Seconds until the value expires. Default: never. */
  ttl?: number | undefined;
}

interface Envelope {
  value?: string;
  deleted?: boolean;
  updated_at: string;
  updated_by: string;
  expires_at?: string;
}

/** The live value of an entry, or undefined for a tombstone or an expired value. */
function live(bucket: string, entry: Entry | undefined, now = Date.now()): KvEntry | undefined {
  const env = entry?.record as unknown as Envelope | undefined;
  if (entry === undefined || env === undefined || env.deleted === true || typeof env.value !== "string")
    return undefined;
  if (env.expires_at !== undefined && Date.parse(env.expires_at) <= now) return undefined;
  return { bucket, key: entry.key, revision: entry.revision, ...env, value: env.value };
}

const area = (bucket: string): { kind: "kv"; bucket: string } => ({ kind: "kv", bucket: bucketName(bucket) });

export async function kvGet(opts: KvKeyOptions): Promise<KvEntry> {
  const key = keyName(opts.key);
  return withStore(opts, area(opts.bucket), async (s) => {
    const found = live(opts.bucket, await s.get(key));
    if (!found) throw new AbqError("E_NO_MESSAGE", `no key '${key}' in bucket '${opts.bucket}'`);
    return found;
  });
}

export async function kvSet(opts: KvSetOptions): Promise<KvEntry> {
  const key = keyName(opts.key);
  if (typeof opts.value !== "string") throw new AbqError("E_USAGE", "value must be text");
  const bytes = Buffer.byteLength(opts.value);
  if (bytes > MAX_KV_VALUE_BYTES) {
    throw new AbqError("E_TOO_LARGE", `value is ${bytes} bytes, over the ${MAX_KV_VALUE_BYTES}-byte kv limit`, {
      hint: "keep large data in a message or a file, and its name in kv",
    });
  }
  checkRevision(opts.ifRevision);
  if (opts.ttl !== undefined && !(opts.ttl > 0 && opts.ttl <= MAX_SPAN_S)) {
    throw new AbqError("E_USAGE", `ttl must be more than 0 and at most ${MAX_SPAN_S} seconds`);
  }
  const now = Date.now();
  const env: Envelope = {
    value: opts.value,
    updated_at: new Date(now).toISOString(),
    updated_by: await callerAgent(opts),
    ...(opts.ttl !== undefined ? { expires_at: new Date(now + opts.ttl * 1000).toISOString() } : {}),
  };
  return withStore(opts, area(opts.bucket), async (s) => {
    const revision = await write(s, key, env, opts);
    return { bucket: opts.bucket, key, revision, ...env, value: opts.value };
  });
}

export interface KvDelOptions extends KvKeyOptions {
  ifRevision?: number | undefined;
}

/** Deletes a key (a tombstone revision). E_NO_MESSAGE when it has no live value. */
export async function kvDel(opts: KvDelOptions): Promise<{ bucket: string; key: string; revision: number }> {
  const key = keyName(opts.key);
  checkRevision(opts.ifRevision);
  const env: Envelope = { deleted: true, updated_at: new Date().toISOString(), updated_by: await callerAgent(opts) };
  return withStore(opts, area(opts.bucket), async (s) => {
    const revision = await write(s, key, env, { ...opts, mustExist: true });
    return { bucket: opts.bucket, key, revision };
  });
}

function checkRevision(rev: number | undefined): void {
  if (rev !== undefined && !(Number.isSafeInteger(rev) && rev >= 0)) {
    throw new AbqError("E_USAGE", `revision must be a whole number of at least 0, not ${String(rev)}`);
  }
}

/** One compare-and-set with the caller's condition; without one, retried until it lands. */
async function write(
  s: RevStore,
  key: string,
  env: Envelope,
  cond: { bucket: string; ifRevision?: number | undefined; ifAbsent?: boolean | undefined; mustExist?: boolean },
): Promise<number> {
  for (let attempt = 0; attempt < MAX_SET_ATTEMPTS; attempt++) {
    const cur = await s.get(key);
    const rev = cur?.revision ?? 0;
    const value = live(cond.bucket, cur);
    if (cond.mustExist && !value) throw new AbqError("E_NO_MESSAGE", `no key '${key}' in bucket '${cond.bucket}'`);
    if (cond.ifRevision !== undefined && rev !== cond.ifRevision) throw conflict(key, rev, cond.ifRevision);
    if (cond.ifAbsent && value) {
      throw new AbqError("E_CONFLICT", `key '${key}' already has a value (revision ${rev})`, {
        hint: "read it with abq kv get, or drop --if-absent to overwrite",
      });
    }
    const done = await s.put(key, env as unknown as StoredRecord, rev);
    if (done !== undefined) return done;
    if (cond.ifRevision !== undefined || cond.ifAbsent) {
      // Someone else wrote between our read and our put: their revision stands, ours is refused.
      const now = (await s.get(key))?.revision ?? 0;
      throw cond.ifRevision !== undefined
        ? conflict(key, now, cond.ifRevision)
        : new AbqError("E_CONFLICT", `key '${key}' was written by someone else first (revision ${now})`);
    }
  }
  throw new AbqError("E_CONFLICT", `key '${key}' kept changing: gave up after ${MAX_SET_ATTEMPTS} attempts`);
}

function conflict(key: string, now: number, expected: number): AbqError {
  return new AbqError("E_CONFLICT", `key '${key}' is at revision ${now}, not ${expected}`, {
    hint: "read it again (abq kv get --json) and retry with its revision",
  });
}

export interface KvListResult {
  entries: KvEntry[];
  /** Keys whose TTL has passed (they read as absent). */
  expired: number;
  /** Keys that could not be read (corrupt, or a link planted in the bus), with why: listed, not fatal. */
  unreadable: Array<{ key: string; problem: string }>;
}

export async function kvList(opts: CommonOptions & { bucket: string }): Promise<KvListResult> {
  return withStore(opts, area(opts.bucket), async (s) => {
    const entries: KvEntry[] = [];
    const unreadable: KvListResult["unreadable"] = [];
    let expired = 0;
    const now = Date.now();
    for (const key of await s.keys()) {
      // One bad key must not hide the bucket from everyone else: it is reported, the rest listed.
      const entry = await s.get(key).catch((err: unknown) => {
        if (!isAbqError(err) || err.code === "E_CONFLICT") throw err;
        unreadable.push({ key, problem: err.message });
        return null;
      });
      if (entry === null) continue;
      const value = live(opts.bucket, entry, now);
      if (value) entries.push(value);
      else if (entry && (entry.record as unknown as Envelope).deleted !== true) expired++;
    }
    return { entries, expired, unreadable };
  });
}

export interface KvChange {
  bucket: string;
  key: string;
  revision: number;
  op: "set" | "del";
  value?: string | undefined;
  updated_at: string;
  updated_by: string;
  expires_at?: string | undefined;
}

/**
 * The bucket's current values, then every change, until `signal` aborts. Over NATS every revision is
 * reported; on the file spool each key is polled, so writes closer together than the poll (50 ms) may
 * show as their last one. Revisions of a key are always reported in increasing order.
 */
export async function* kvWatch(
  opts: CommonOptions & { bucket: string; key?: string | undefined; signal: AbortSignal },
): AsyncIterable<KvChange> {
  const key = opts.key === undefined ? undefined : keyName(opts.key);
  const store = await openStore(opts, area(opts.bucket));
  try {
    for await (const e of store.watch(key, opts.signal)) {
      const { deleted, ...env } = e.record as unknown as Envelope;
      yield { bucket: opts.bucket, key: e.key, revision: e.revision, op: deleted === true ? "del" : "set", ...env };
    }
  } finally {
    await store.close();
  }
}
