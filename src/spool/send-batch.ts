/**
 * Batched delivery (`abq send --batch`): lifecycle step 1 for a chunk of messages at once, so a chunk
 * pays one folder fsync and overlapping file fsyncs instead of both per message. `add` only checks and
 * holds a message; `commit` writes the chunk:
 *
 *   1. write each message whole to its own staging file in its channel's `tmp/` (exclusive create);
 *   2. fsync the staged files, all at once (the disk can cover several with one journal commit);
 *   3. rename them into `requests/`, in the order they were added (ids rise in that order);
 *   4. fsync each `requests/` folder once;
 *   5. return: only now may the caller report them as sent. Their `sent` events are appended last.
 *
 * Killed before 3, the chunk is staging files in `tmp/` only (the sweep removes them after an hour) and
 * nothing was reported. Killed during 3 or 4, a prefix of the chunk is in `requests/`, each file complete
 * and (with fsync) durable before its rename, none reported: the same "delivered, not yet confirmed" a
 * single send killed after its rename leaves. No step rewrites a visible file.
 *
 * The writes and renames are synchronous calls: each takes microseconds, while a round trip through
 * libuv's thread pool costs tens of them, several times per message. Only the fsyncs, which wait for
 * the disk, go through the pool (concurrently).
 */
import { closeSync, constants, fchmodSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import * as fs from "../fs-promised.ts";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";
import type { LifecycleEvent } from "../lifecycle/records.ts";
import { serializeRequest } from "./deliver.ts";
import { EVENTS_FILE } from "./events.ts";
import { crashPoint } from "./faults.ts";
import { ensureSubdir, FILE_MODE, fileModeNow, pathExists, stagingPath, syncDir, writeAllSync } from "./files.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

/** A commit that failed part way: the first `committed` messages of its chunk were delivered. */
export class BatchCommitError extends AbqError {
  readonly committed: number;
  constructor(cause: AbqError, committed: number) {
    super(cause.code, cause.message, { ...(cause.hint !== undefined ? { hint: cause.hint } : {}), cause });
    this.committed = committed;
  }
}

interface Held {
  q: Queue;
  message: Request;
  data: string;
}

interface Staged {
  held: Held;
  path: string;
  fd: number | undefined;
}

const STAGE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

export class BatchDelivery {
  private held: Held[] = [];
  private readonly opts: { sync: boolean; maxBytes: number };

  constructor(opts: { sync: boolean; maxBytes: number }) {
    this.opts = opts;
  }

  get pending(): number {
    return this.held.length;
  }

  /** Checks one message (its size) and holds it for the next commit; nothing is written yet. */
  add(q: Queue, message: Request): Request {
    this.held.push({ q, message, data: serializeRequest(message, this.opts.maxBytes) });
    return message;
  }

  /**
   * Delivers every held message (steps 1–5 above). A message that cannot be staged (its channel is gone,
   * the disk is full) ends the chunk there: the messages before it are still delivered, and the
   * BatchCommitError names how many made it.
   */
  async commit(): Promise<void> {
    const chunk = this.held.splice(0);
    if (chunk.length === 0) return;
    const staged: Staged[] = [];
    let failure: unknown;
    const modes = new Map<string, number>();
    for (const held of chunk) {
      try {
        staged.push(await stage(held, modes, this.opts.sync));
      } catch (err) {
        failure = err;
        break;
      }
    }
    let renamed = 0;
    try {
      if (this.opts.sync) await Promise.all(staged.map((s) => fs.fsync(s.fd!)));
      closeAll(staged);
      crashPoint("send:staged");
      for (const s of staged) {
        renameSync(s.path, join(s.held.q.dir, "requests", `${s.held.message.id}.json`));
        renamed++;
      }
      await this.syncFolders(staged);
    } catch (err) {
      failure = err;
      closeAll(staged);
      for (const s of staged.slice(renamed)) await fs.removeFile(s.path).catch(() => undefined);
      // What was renamed is delivered: make it durable too, so the caller may report it.
      await this.syncFolders(staged.slice(0, renamed)).catch(() => undefined);
    }
    await logSent(chunk.slice(0, renamed));
    if (failure !== undefined) {
      throw new BatchCommitError(await explain(chunk[renamed] ?? chunk[0]!, failure), renamed);
    }
  }

  private async syncFolders(staged: Staged[]): Promise<void> {
    if (!this.opts.sync) return;
    for (const dir of new Set(staged.map((s) => s.held.q.dir))) await syncDir(join(dir, "requests"));
  }
}

/** Step 1 for one message: its staging file, written whole; the fd stays open for the fsync. */
async function stage(held: Held, modes: Map<string, number>, sync: boolean): Promise<Staged> {
  const tmp = join(held.q.dir, "tmp");
  let mode = modes.get(tmp);
  if (mode === undefined) modes.set(tmp, (mode = fileModeNow(tmp)));
  const path = stagingPath(tmp, `${held.message.id}.json`);
  let fd: number;
  try {
    fd = openSync(path, STAGE_FLAGS, mode);
  } catch (err) {
    // Channels made by the seed or by hand have no tmp/: make it, but only inside a channel that exists.
    if (errnoCode(err) !== "ENOENT" || !(await pathExists(held.q.dir))) throw err;
    await ensureSubdir(tmp).catch(() => undefined);
    fd = openSync(path, STAGE_FLAGS, mode);
  }
  const s: Staged = { held, path, fd };
  try {
    if (mode !== FILE_MODE) fchmodSync(fd, mode); // the umask may have narrowed a group channel's 0660
    writeAllSync(fd, Buffer.from(held.data, "utf8"));
  } catch (err) {
    closeAll([s]);
    await fs.removeFile(path).catch(() => undefined);
    throw err;
  }
  if (!sync) closeAll([s]);
  return s;
}

function closeAll(staged: Staged[]): void {
  for (const s of staged) {
    if (s.fd === undefined) continue;
    try {
      closeSync(s.fd);
    } catch {
      // closing a file we only wrote: nothing to recover
    }
    s.fd = undefined;
  }
}

/** The error a failed delivery reports: a missing channel says so, anything else is an I/O error. */
async function explain(held: Held, err: unknown): Promise<AbqError> {
  if (err instanceof AbqError) return err;
  if (errnoCode(err) === "ENOENT") {
    const missing = await requireQueue(held.q).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (missing instanceof AbqError) return missing;
  }
  return ioError(`cannot deliver to ${held.message.to}`, err);
}

/** Step 5's events, one append per channel (logging never fails the send it describes). */
async function logSent(chunk: Held[]): Promise<void> {
  const byDir = new Map<string, string[]>();
  const at = new Date().toISOString();
  for (const { q, message } of chunk) {
    const record: LifecycleEvent = { at, event: "sent", id: message.id, actor: message.from.agent, pid: process.pid };
    const lines = byDir.get(q.dir) ?? [];
    lines.push(`${JSON.stringify(record)}\n`);
    byDir.set(q.dir, lines);
  }
  for (const [dir, lines] of byDir) {
    const mode = fileModeNow(dir);
    await fs.appendFile(join(dir, EVENTS_FILE), lines.join(""), { mode }).catch(() => undefined);
  }
}
