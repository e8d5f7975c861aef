/**
 * Named locks: `abq lock`. A lock is one record in the compare-and-set store (src/kv/store.ts), so every
 * change — acquire, renew, release, takeover — is a put against the revision just read, and exactly one of
 * several racing processes wins it. The record names its holder (agent, pid, host, process start time), a
 * token that fences renew and release, and an expiry.
 *
 * Takeover: a lock whose holder process is gone (same host) is taken at once; one whose holder cannot be
 * checked (another host, or pid 0: held by its expiry alone) is taken once it has expired. A holder that
 * is alive on this host is never taken from, expired or not. A dead holder's command (`lock run`) is
 * killed, by process group, before the lock changes hands.
 */
import type { CommonOptions } from "../api/options.ts";
import { callerAgent } from "../api/options.ts";
import { MAX_SPAN_S } from "../protocol/constants.ts";
import { AbqError } from "../protocol/errors.ts";
import { randomHex, sleep } from "../protocol/random.ts";
import { HOST } from "../spool/lease.ts";
import { keyName } from "../kv/names.ts";
import { type RevStore, type StoredRecord, withStore } from "../kv/store.ts";
import { describeOwner, liveness, makeOwner, type Owner } from "./owner.ts";

export const DEFAULT_LOCK_TTL_S = 300;
const AREA = { kind: "locks" } as const;

interface HeldRecord {
  state: "held";
  token: string;
  owner: Owner;
  acquired_at: string;
  expires_at: string;
  ttl_s: number;
  /** Process group of the command `lock run` runs under the lock, killed if its owner dies. */
  pgid?: number | undefined;
}
type LockRecord = HeldRecord | { state: "free"; released_at: string; released_by: string };

export interface LockHold {
  name: string;
  token: string;
  revision: number;
  owner: Owner;
  acquired_at: string;
  expires_at: string;
  ttl_s: number;
  /** Set when the lock was taken from a previous holder: who, and why that was safe. */
  took_over?: { owner: Owner; reason: "owner died" | "expired" } | undefined;
}

export interface AcquireOptions extends CommonOptions {
  name: string;
  /** Seconds until the lock expires unless renewed. Default 300. */
  ttl?: number | undefined;
  /** Seconds to wait for a held lock; 0 (the default) fails at once with E_CONFLICT. */
  wait?: number | undefined;
  signal?: AbortSignal | undefined;
}

function checkSeconds(what: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= min && value <= MAX_SPAN_S)) {
    throw new AbqError("E_USAGE", `${what} must be from ${min} to ${MAX_SPAN_S} seconds, not ${String(value)}`);
  }
}

/** Why `held` may be taken over now, or undefined when it must not be. */
function takeoverReason(held: HeldRecord, now: number): "owner died" | "expired" | undefined {
  const state = liveness(held.owner);
  if (state === "dead") return "owner died";
  if (state === "unknown" && Date.parse(held.expires_at) <= now) return "expired";
  return undefined;
}

export async function acquireLock(opts: AcquireOptions): Promise<LockHold> {
  const name = keyName(opts.name, "lock");
  checkSeconds("ttl", opts.ttl, 0.001);
  checkSeconds("wait", opts.wait, 0);
  const owner = makeOwner(await callerAgent(opts), opts.ownerPid ?? process.pid);
  const ttl = opts.ttl ?? DEFAULT_LOCK_TTL_S;
  const deadline = Date.now() + (opts.wait ?? 0) * 1000;
  return withStore(opts, AREA, async (s) => {
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      const cur = await s.get(name);
      const rec = cur?.record as unknown as LockRecord | undefined;
      const now = Date.now();
      const held = rec?.state === "held" ? rec : undefined;
      const reason = held ? takeoverReason(held, now) : undefined;
      if (!held || reason) {
        if (held && reason === "owner died") stopOrphan(held);
        const record: HeldRecord = {
          state: "held",
          token: randomHex(8),
          owner,
          acquired_at: new Date(now).toISOString(),
          expires_at: new Date(now + ttl * 1000).toISOString(),
          ttl_s: ttl,
        };
        const revision = await s.put(name, record as unknown as StoredRecord, cur?.revision ?? 0);
        if (revision !== undefined) {
          return {
            ...holdOf(name, revision, record),
            ...(held && reason ? { took_over: { owner: held.owner, reason } } : {}),
          };
        }
        continue; // someone else changed it first: look again
      }
      if (opts.signal?.aborted || Date.now() >= deadline)
        throw heldError(name, held, opts.wait !== undefined && opts.wait > 0);
      await sleep(pause * (0.5 + Math.random()));
    }
  });
}

function holdOf(name: string, revision: number, r: HeldRecord): LockHold {
  const { token, owner, acquired_at, expires_at, ttl_s } = r;
  return { name, token, revision, owner, acquired_at, expires_at, ttl_s };
}

function heldError(name: string, held: HeldRecord, waited: boolean): AbqError {
  const text = `lock '${name}' is held by ${describeOwner(held.owner)} until ${held.expires_at}`;
  return waited
    ? new AbqError("E_TIMEOUT", `${text}: gave up waiting`)
    : new AbqError("E_CONFLICT", text, { hint: "wait for it with --wait 30s" });
}

/** Kills the process group a dead holder's `lock run` left (same host only): its work must not overlap ours. */
function stopOrphan(held: HeldRecord): void {
  if (held.pgid === undefined || held.owner.host !== HOST) return;
  try {
    process.kill(-held.pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

export interface ReleaseLockOptions extends CommonOptions {
  name: string;
  /** The token acquire returned; without it, the lock must be held by the caller's agent. */
  token?: string | undefined;
}

/** Releases a held lock: E_CONFLICT (changing nothing) when it is not held, or not by the caller. */
export async function releaseLock(opts: ReleaseLockOptions): Promise<{ name: string; revision: number }> {
  const name = keyName(opts.name, "lock");
  const agent = await callerAgent(opts);
  return withStore(opts, AREA, async (s) => {
    const { revision } = await ownHeld(s, name, opts.token, agent);
    const free = { state: "free", released_at: new Date().toISOString(), released_by: agent };
    const done = await s.put(name, free, revision);
    if (done === undefined) throw new AbqError("E_CONFLICT", `lock '${name}' changed hands while releasing it`);
    return { name, revision: done };
  });
}

/** The lock's record when it is held by `token` (or, without one, by `agent`). */
async function ownHeld(
  s: RevStore,
  name: string,
  token: string | undefined,
  agent: string,
): Promise<{ revision: number; held: HeldRecord }> {
  const cur = await s.get(name);
  const rec = cur?.record as unknown as LockRecord | undefined;
  if (!cur || rec?.state !== "held") throw new AbqError("E_CONFLICT", `lock '${name}' is not held`);
  const mine = token !== undefined ? rec.token === token : rec.owner.agent === agent;
  if (!mine) {
    const whose = token !== undefined ? "not with that token" : "not by you";
    throw new AbqError("E_CONFLICT", `lock '${name}' is held by ${describeOwner(rec.owner)}, ${whose}`, {
      hint:
        token !== undefined
          ? "check the token acquire printed; if it was yours, your hold ended and the lock was taken over"
          : "pass the token acquire printed (--token)",
    });
  }
  return { revision: cur.revision, held: rec };
}

export interface RenewLockOptions extends CommonOptions {
  name: string;
  token: string;
  /** New TTL from now, in seconds. Default: the lock's own. */
  ttl?: number | undefined;
  /** Record the process group of the command run under the lock (`lock run`). */
  pgid?: number | undefined;
}

/** Extends a hold; E_CONFLICT when the token no longer holds the lock. */
export async function renewLock(opts: RenewLockOptions): Promise<LockHold> {
  const name = keyName(opts.name, "lock");
  checkSeconds("ttl", opts.ttl, 0.001);
  return withStore(opts, AREA, async (s) => {
    const { revision, held } = await ownHeld(s, name, opts.token, "");
    const ttl = opts.ttl ?? held.ttl_s;
    const record: HeldRecord = {
      ...held,
      ttl_s: ttl,
      expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
      ...(opts.pgid !== undefined ? { pgid: opts.pgid } : {}),
    };
    const done = await s.put(name, record as unknown as StoredRecord, revision);
    if (done === undefined) throw new AbqError("E_CONFLICT", `lock '${name}' changed hands while renewing it`);
    return holdOf(name, done, record);
  });
}

export interface LockInfo {
  name: string;
  state: "held" | "free" | "takeover";
  revision: number;
  owner?: Owner | undefined;
  expires_at?: string | undefined;
  /** For `takeover`: why the next acquirer may take it. */
  reason?: string | undefined;
}

/** Every lock (or one), with its holder; `takeover` marks a held lock the next acquirer will take. */
export async function listLocks(opts: CommonOptions & { name?: string | undefined }): Promise<LockInfo[]> {
  const only = opts.name === undefined ? undefined : keyName(opts.name, "lock");
  return withStore(opts, AREA, async (s) => {
    const out: LockInfo[] = [];
    for (const name of only !== undefined ? [only] : await s.keys()) {
      const cur = await s.get(name);
      if (!cur) continue;
      const rec = cur.record as unknown as LockRecord;
      if (rec.state !== "held") {
        out.push({ name, state: "free", revision: cur.revision });
        continue;
      }
      const reason = takeoverReason(rec, Date.now());
      const { owner, expires_at } = rec;
      out.push({ name, state: reason ? "takeover" : "held", revision: cur.revision, owner, expires_at, reason });
    }
    return out;
  });
}
