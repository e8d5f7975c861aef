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
import { promises as fs } from "node:fs";
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
  const claimed = join(q.dir, "processing", `${id}.json`);
  const raw = await fs.readFile(claimed, "utf8").catch(() => undefined);
  if (raw === undefined) return { outcome: "gone", attempts: 0 };
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    message = {};
  }
  const attempts = (typeof message["attempts"] === "number" ? message["attempts"] : 0) + 1;
  if (Object.keys(message).length > 0) {
    message["attempts"] = attempts;
    await publishFile(join(q.dir, "tmp"), claimed, serialize(message), { sync, replace: true });
  }
  if (attempts >= policy.max_attempts) {
    await ensureDir(join(q.dir, "dead"));
    if (await tryRename(claimed, join(q.dir, "dead", `${id}.json`))) {
      const note = { id, ...failure, attempts, max_attempts: policy.max_attempts, by, at: formatTimestamp() };
      await fs.rm(join(q.dir, "dead", `${id}.reason.json`), { force: true });
      await writeNewFile(join(q.dir, "dead", `${id}.reason.json`), `${JSON.stringify(note, null, 2)}\n`, false);
    }
    await dropLease(q, id);
    return { outcome: "dead", attempts };
  }
  const delay = backoffMs(policy, attempts);
  if (delay > 0) {
    await ensureDir(join(q.dir, "delayed"));
    const target = join(q.dir, "delayed", `${id}.json`);
    // The due time rides on the file itself; set it before the rename so the file is never "due" early.
    const due = new Date(Date.now() + delay);
    await fs.utimes(claimed, due, due);
    await tryRename(claimed, target);
    await dropLease(q, id);
    return { outcome: "delayed", attempts };
  }
  await tryRename(claimed, join(q.dir, "requests", `${id}.json`));
  if (sync) await syncDir(join(q.dir, "requests"));
  await dropLease(q, id);
  return { outcome: "requeued", attempts };
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
      await fs.rm(join(q.dir, "dead", `${id}.reason.json`), { force: true });
      revived.push(id);
    }
  }
  return revived;
}
