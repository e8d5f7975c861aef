/**
 * The spool's state changes, one function each: the only code that moves a message file from one state
 * folder to another (src/lifecycle/states.ts lists the states, src/protocol/index.ts numbers the steps
 * and says what a crash at each one leaves). Each is one rename(2), so of several racing processes
 * exactly one wins it and the others get `false`; a reason file, where there is one, is written after
 * the move, so a crash in between leaves the message moved without its reason, never lost.
 *
 * Callers own the claim before moving a claimed message (they hold its lease, or revoked it).
 *
 * Bulk operations (purge, requeue, the sweep's expiry, a claim meeting a run of expired messages) make
 * the same moves through bulk-transitions.ts, synchronously and a slice at a time: each message still
 * goes through these steps in this order, and only the folder fsyncs are shared by a slice (issued after
 * its moves, before any of them is reported or logged). bulk-retry.ts spells out the requeue's sequence
 * and what a crash at each step leaves; in every case each message is in exactly one state folder.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { attemptsOf, formatTimestamp, type Request } from "../protocol/schema.ts";
import { serialize } from "./deliver.ts";
import { crashPoint } from "./faults.ts";
import { ensureSubdir, publishFile, syncDir, tryRename, writeNewFile } from "./files.ts";
import type { Queue } from "./paths.ts";

/** Where each state keeps message `id` in queue `q`. */
export const at = {
  pending: (q: Queue, id: string): string => join(q.dir, "requests", `${id}.json`),
  delayed: (q: Queue, id: string): string => join(q.dir, "delayed", `${id}.json`),
  claimed: (q: Queue, id: string): string => join(q.dir, "processing", `${id}.json`),
  archived: (q: Queue, id: string): string => join(q.dir, "archive", `${id}_request.json`),
  archiveReason: (q: Queue, id: string): string => join(q.dir, "archive", `${id}_reason.json`),
  dead: (q: Queue, id: string): string => join(q.dir, "dead", `${id}.json`),
  deadReason: (q: Queue, id: string): string => join(q.dir, "dead", `${id}.reason.json`),
  expired: (q: Queue, id: string): string => join(q.dir, "expired", `${id}.json`),
  expiredReason: (q: Queue, id: string): string => join(q.dir, "expired", `${id}.reason.json`),
};

/** Why a request was archived without an answer: `withdrawn` (cancel, purge) or `acknowledged` (ack). */
export interface ArchiveNote {
  state: "withdrawn" | "acknowledged";
  reason: string;
  by: string;
}

/**
 * Retires a request into `archive/` (done, withdrawn or acknowledged). `from` is its current file;
 * with `note`, `archive/<id>_reason.json` says why there is no answer (waiters read it and stop).
 */
export async function archive(q: Queue, from: string, id: string, note?: ArchiveNote): Promise<boolean> {
  if (!(await tryRename(from, at.archived(q, id)))) return false;
  if (note === undefined) return true;
  crashPoint("archive:moved");
  await writeArchiveNote(q, id, note);
  return true;
}

async function writeArchiveNote(q: Queue, id: string, note: ArchiveNote): Promise<void> {
  const text = `${JSON.stringify({ id, ...note, at: formatTimestamp() }, null, 2)}\n`;
  // A revived message archived twice keeps both reasons.
  await writeNewFile(at.archiveReason(q, id), text, false).catch(() =>
    writeNewFile(join(q.dir, "archive", `${id}_reason.${Date.now()}.json`), text, false),
  );
}

/** The reason file of an expired message (expire, and expireSync in bulk-transitions.ts). */
export function expiryNote(message: Request, by: string): Record<string, unknown> {
  return {
    id: message.id,
    reason: "expired",
    ttl: message.ttl,
    sent: message.timestamp,
    expired_at: formatTimestamp(),
    by,
  };
}

/** Sets aside a request whose TTL ran out (from pending, or from a claim that found it expired). */
export async function expire(q: Queue, from: string, message: Request, by: string): Promise<boolean> {
  await ensureSubdir(join(q.dir, "expired"));
  if (!(await tryRename(from, at.expired(q, message.id)))) return false;
  await replaceNote(at.expiredReason(q, message.id), expiryNote(message, by));
  return true;
}

/** Gives up on a message: into `dead/` with its reason (last error, exit code, stderr tail, attempts). */
export async function deadLetter(q: Queue, from: string, id: string, note: Record<string, unknown>): Promise<boolean> {
  await ensureSubdir(join(q.dir, "dead"));
  if (!(await tryRename(from, at.dead(q, id)))) return false;
  await replaceNote(at.deadReason(q, id), { id, ...note, at: formatTimestamp() });
  return true;
}

/** Holds a message back until `dueMs`: the due time rides on the file's mtime, set before the move. */
export async function delay(q: Queue, from: string, id: string, dueMs: number): Promise<boolean> {
  await ensureSubdir(join(q.dir, "delayed"));
  const due = new Date(dueMs);
  try {
    await fs.utimes(from, due, due);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false; // gone: someone else moved it
    throw err; // an unusable due time: the caller puts the message back, it must not stay hidden
  }
  return tryRename(from, at.delayed(q, id));
}

/** Makes a message pending again (release, requeue, a due delay, a revived dead letter). */
export async function makePending(q: Queue, from: string, id: string, sync: boolean): Promise<boolean> {
  const moved = await tryRename(from, at.pending(q, id));
  if (moved && sync) await syncDir(join(q.dir, "requests"));
  return moved;
}

/**
 * Rewrites a message file in place (stage, rename over it) with its attempt count changed: `+1` for a
 * failed attempt, `reset` for a revived dead letter. Returns the new count; the file stays where it was.
 * A file that is not JSON is left as it is (the next claim rejects it with a reason).
 */
export async function setAttempts(q: Queue, path: string, change: "+1" | "reset", sync: boolean): Promise<number> {
  const raw = await fs.readFile(path, "utf8");
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return 1;
  }
  const attempts = change === "+1" ? attemptsOf(message) + 1 : 0;
  if (change === "reset") delete message["attempts"];
  else message["attempts"] = attempts;
  await publishFile(join(q.dir, "tmp"), path, serialize(message), { sync, replace: true });
  return attempts;
}

async function replaceNote(path: string, note: Record<string, unknown>): Promise<void> {
  await fs.removeFile(path);
  await writeNewFile(path, `${JSON.stringify(note, null, 2)}\n`, false);
}
