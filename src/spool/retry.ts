/**
 * Giving a message another attempt, or giving up on it (dead letters).
 *
 * A caller must own the claim first (hold its lease, or have revoked it: see lease.ts). Then:
 * `attempts` + 1 is written into a new copy renamed over `processing/<id>.json`; past the channel's
 * `max_attempts` the message moves to `dead/<id>.json` with `dead/<id>.reason.json` (last error, exit
 * code, stderr tail); otherwise it waits out its backoff in `delayed/<id>.json`, whose mtime is the time
 * it becomes due, and `promoteDue` moves it back to `requests/` then. Each step is one rename; a crash
 * between steps leaves the message claimed without a lease, which the sweep requeues later; one right
 * after the take leaves its dot-name, which the sweep puts back (`restoreRetries`).
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { attemptsOf } from "../protocol/schema.ts";
import type { FailureInfo } from "../lifecycle/records.ts";
import { listDir, pathExists, tryRename } from "./files.ts";
import { at, deadLetter, delay, makePending, setAttempts } from "./transitions.ts";
import { crashPoint } from "./faults.ts";
import { dropLease } from "./lease.ts";
import { takenPath } from "./taken.ts";
import type { Queue } from "./paths.ts";
import { backoffMs, type Policy } from "../protocol/policy.ts";

export type RetryOutcome = "requeued" | "delayed" | "dead" | "gone";

/**
 * Takes a claimed message for a retry, a release or a dead letter: of several processes doing this at
 * once (sweeps racing each other or a worker), exactly one wins this rename; the rest get undefined. A
 * dot-name keeps it out of listings; a crash right after leaves it for the sweep (`restoreRetries`).
 * The lease is dropped once the message is ours alone: dropped later, it could delete the lease of the
 * next worker who claims it.
 */
async function takeClaim(q: Queue, id: string): Promise<string | undefined> {
  const mine = takenPath(q, id);
  if (!(await tryRename(at.claimed(q, id), mine))) return undefined;
  crashPoint("release:taken");
  await dropLease(q, id);
  return mine;
}

/** A failed attempt: attempts + 1, then dead past max_attempts, else back after `delayMs` or the backoff. */
export async function retryOrDead(
  q: Queue,
  id: string,
  policy: Policy,
  failure: FailureInfo,
  by: string,
  sync: boolean,
  delayMs?: number,
): Promise<{ outcome: RetryOutcome; attempts: number }> {
  const mine = await takeClaim(q, id);
  if (mine === undefined) return { outcome: "gone", attempts: 0 };
  try {
    const attempts = await setAttempts(q, mine, "+1", sync);
    if (attempts >= policy.max_attempts) {
      await deadLetter(q, mine, id, { ...failure, attempts, max_attempts: policy.max_attempts, by });
      return { outcome: "dead", attempts };
    }
    const wait = delayMs ?? backoffMs(policy, attempts);
    if (wait > 0) {
      await delay(q, mine, id, Date.now() + wait);
      return { outcome: "delayed", attempts };
    }
    await makePending(q, mine, id, sync);
    return { outcome: "requeued", attempts };
  } catch (err) {
    // A failed rewrite (a full disk) must not leave the message under its dot-name, counted as claimed
    // by nobody: give it back as it was (a rename needs no space), uncounted, then report the failure.
    await makePending(q, mine, id, false).catch(() => undefined);
    throw err;
  }
}

/** Gives a claim back without counting an attempt: pending now, or after `delayMs`. */
export async function giveBack(
  q: Queue,
  id: string,
  delayMs: number,
  sync: boolean,
): Promise<RetryOutcome | "released"> {
  const mine = await takeClaim(q, id);
  if (mine === undefined) return "gone";
  if (delayMs > 0) {
    try {
      await delay(q, mine, id, Date.now() + delayMs);
    } catch (err) {
      await makePending(q, mine, id, sync); // never leave it under its hidden dot-name
      throw err;
    }
    return "delayed";
  }
  await makePending(q, mine, id, sync);
  return "released";
}

/** Dead-letters a claim at once (`term`), whatever attempts are left. */
export async function terminate(q: Queue, id: string, failure: FailureInfo, by: string): Promise<boolean> {
  const mine = await takeClaim(q, id);
  if (mine === undefined) return false;
  let attempts = 0;
  try {
    attempts = attemptsOf(JSON.parse(await fs.readFile(mine, "utf8")) as Record<string, unknown>);
  } catch {
    // not JSON: dead-letter it as it is
  }
  await deadLetter(q, mine, id, { ...failure, attempts: attempts + 1, terminated: true, by });
  return true;
}

/** Moves delayed messages whose time has come back into `requests/`; returns how many moved. */
export async function promoteDue(q: Queue): Promise<number> {
  const names = await listDir(join(q.dir, "delayed"));
  let moved = 0;
  const now = Date.now();
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const path = join(q.dir, "delayed", name);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st || st.mtimeMs > now) continue;
    if (await makePending(q, path, name.replace(/\.json$/, ""), false)) moved++;
  }
  return moved;
}

/** Dead letters of a queue, with their reasons. */
export async function listDead(q: Queue): Promise<Array<{ id: string; reason: Record<string, unknown> | undefined }>> {
  const names = (await listDir(join(q.dir, "dead"))).filter((n) => n.endsWith(".json") && !n.endsWith(".reason.json"));
  const out = [];
  for (const name of names.sort()) {
    const id = name.slice(0, -5);
    const reason = await fs
      .readFile(join(q.dir, "dead", `${id}.reason.json`), "utf8")
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => undefined);
    out.push({ id, reason });
  }
  return out;
}

/** Brings dead letters back to `requests/` with a fresh attempt count. */
export async function reviveDead(q: Queue, ids: string[] | undefined, sync: boolean): Promise<string[]> {
  const all = (await listDead(q)).map((d) => d.id);
  const chosen = ids === undefined ? all : all.filter((id) => ids.includes(id));
  const revived: string[] = [];
  for (const id of chosen) {
    const path = at.dead(q, id);
    if (!(await pathExists(path))) continue;
    await setAttempts(q, path, "reset", sync);
    if (await makePending(q, path, id, sync)) {
      await fs.removeFile(at.deadReason(q, id));
      revived.push(id);
    }
  }
  return revived;
}
