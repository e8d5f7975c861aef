/**
 * Giving a message another attempt, or giving up on it (dead letters).
 *
 * A caller must own the claim first (hold its lease, or have revoked it: see lease.ts). Then:
 * `attempts` + 1 is written into a new copy renamed over `processing/<id>.json`; past the channel's
 * `max_attempts` the message moves to `dead/<id>.json` with `dead/<id>.reason.json` (last error, exit
 * code, stderr tail); otherwise it waits out its backoff in `delayed/<id>.json`, whose mtime is the time
 * it becomes due, and `promoteDue` moves it back to `requests/` then. Each step is one rename; a crash
 * between steps leaves the message claimed without a lease, which the sweep requeues later.
 */
import { randomHex } from "../protocol/random.ts";
import * as fs from "../fsp.ts";
import { join } from "node:path";
import { formatTimestamp } from "../protocol/schema.ts";
import { serialize } from "./deliver.ts";
import { ensureDir, listDir, publishFile, syncDir, tryRename, writeNewFile } from "./files.ts";
import { dropLease } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { backoffMs, type Policy } from "./policy.ts";

export interface Failure {
  reason: string;
  error?: string | undefined;
  exit_code?: number | undefined;
  stderr_tail?: string | undefined;
}

export type RetryOutcome = "requeued" | "delayed" | "dead" | "gone";

export async function retryOrDead(
  q: Queue,
  id: string,
  policy: Policy,
  failure: Failure,
  by: string,
  sync: boolean,
): Promise<{ outcome: RetryOutcome; attempts: number }> {
  // Take the message itself first: of several processes retrying it at once (sweeps racing each other or
  // a worker), exactly one wins this rename; the rest see "gone". A dot-name keeps it out of listings;
  // a crash right after leaves it for the sweep to put back (`restoreRetries`).
  const mine = join(q.dir, "processing", `${RETRY_PREFIX}${id}.${process.pid}.${randomHex(3)}`);
  if (!(await tryRename(join(q.dir, "processing", `${id}.json`), mine))) return { outcome: "gone", attempts: 0 };
  // The message is ours alone now. Drop its lease before it can be claimed again: dropped any later, it
  // could delete the lease of the next worker who claims it.
  await dropLease(q, id);
  const raw = await fs.readFile(mine, "utf8");
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    message = {};
  }
  const attempts = (typeof message["attempts"] === "number" ? message["attempts"] : 0) + 1;
  if (Object.keys(message).length > 0) {
    message["attempts"] = attempts;
    await publishFile(join(q.dir, "tmp"), mine, serialize(message), { sync, replace: true });
  }
  if (attempts >= policy.max_attempts) {
    await ensureDir(join(q.dir, "dead"));
    await fs.rename(mine, join(q.dir, "dead", `${id}.json`));
    const note = { id, ...failure, attempts, max_attempts: policy.max_attempts, by, at: formatTimestamp() };
    await fs.removeFile(join(q.dir, "dead", `${id}.reason.json`));
    await writeNewFile(join(q.dir, "dead", `${id}.reason.json`), `${JSON.stringify(note, null, 2)}\n`, false);
    return { outcome: "dead", attempts };
  }
  const delay = backoffMs(policy, attempts);
  if (delay > 0) {
    await ensureDir(join(q.dir, "delayed"));
    // The due time rides on the file itself; set it before the rename so the file is never "due" early.
    const due = new Date(Date.now() + delay);
    await fs.utimes(mine, due, due);
    await fs.rename(mine, join(q.dir, "delayed", `${id}.json`));
    return { outcome: "delayed", attempts };
  }
  await fs.rename(mine, join(q.dir, "requests", `${id}.json`));
  if (sync) await syncDir(join(q.dir, "requests"));
  return { outcome: "requeued", attempts };
}

export const RETRY_PREFIX = ".retry-";

/** Puts back retries that a crash left half done (older than `minAgeMs`) into `requests/`. */
export async function restoreRetries(q: Queue, minAgeMs: number): Promise<number> {
  let restored = 0;
  for (const name of await listDir(join(q.dir, "processing"))) {
    if (!name.startsWith(RETRY_PREFIX)) continue;
    const path = join(q.dir, "processing", name);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < minAgeMs) continue;
    const id = name.slice(RETRY_PREFIX.length).split(".")[0]!;
    if (await tryRename(path, join(q.dir, "requests", `${id}.json`))) restored++;
  }
  return restored;
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
    if (await tryRename(path, join(q.dir, "requests", name))) moved++;
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
    const path = join(q.dir, "dead", `${id}.json`);
    const raw = await fs.readFile(path, "utf8").catch(() => undefined);
    if (raw === undefined) continue;
    try {
      const message = JSON.parse(raw) as Record<string, unknown>;
      delete message["attempts"];
      await publishFile(join(q.dir, "tmp"), path, serialize(message), { sync, replace: true });
    } catch {
      // not JSON: revive it as it is; the claim will set it aside with a reason
    }
    if (await tryRename(path, join(q.dir, "requests", `${id}.json`))) {
      await fs.removeFile(join(q.dir, "dead", `${id}.reason.json`));
      revived.push(id);
    }
  }
  return revived;
}
