/**
 * The state changes of transitions.ts in their synchronous form, for bulk operations (see bulk-files.ts
 * for why). Each is the same rename(2) to the same place, with the same reason file written after the
 * move, so each message goes through exactly the steps (and crash windows) of its async form; only the
 * folder fsync is left to the caller, who issues one per slice after the moves and before reporting them.
 */
import { utimesSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { formatTimestamp, type Request } from "../protocol/schema.ts";
import { removeFileSync, tryRenameSync, writeNewFileSync } from "./bulk-files.ts";
import { crashPoint } from "./faults.ts";
import type { Queue } from "./paths.ts";
import { type ArchiveNote, at, expiryNote } from "./transitions.ts";

/** archive() with a note: into `archive/`, then `archive/<id>_reason.json`; `mode` from fileModeNow (files.ts). */
export function archiveSync(q: Queue, from: string, id: string, note: ArchiveNote, mode: number): boolean {
  if (!tryRenameSync(from, at.archived(q, id))) return false;
  crashPoint("archive:moved");
  const text = `${JSON.stringify({ id, ...note, at: formatTimestamp() }, null, 2)}\n`;
  try {
    writeNewFileSync(at.archiveReason(q, id), text, mode);
  } catch (err) {
    if (errnoCode(err) !== "EEXIST") throw err;
    // A revived message archived twice keeps both reasons.
    writeNewFileSync(join(q.dir, "archive", `${id}_reason.${Date.now()}.json`), text, mode);
  }
  return true;
}

/** expire(): into `expired/` (which the caller made), then its reason; `mode` from fileModeNow (files.ts). */
export function expireSync(q: Queue, from: string, message: Request, by: string, mode: number): boolean {
  if (!tryRenameSync(from, at.expired(q, message.id))) return false;
  replaceNoteSync(at.expiredReason(q, message.id), expiryNote(message, by), mode);
  return true;
}

/** deadLetter(): into `dead/` (which the caller made), then its reason. */
export function deadLetterSync(
  q: Queue,
  from: string,
  id: string,
  note: Record<string, unknown>,
  mode: number,
): boolean {
  if (!tryRenameSync(from, at.dead(q, id))) return false;
  replaceNoteSync(at.deadReason(q, id), { id, ...note, at: formatTimestamp() }, mode);
  return true;
}

/** delay(): the due time set on the file's mtime, then into `delayed/` (which the caller made). */
export function delaySync(q: Queue, from: string, id: string, dueMs: number): boolean {
  const due = new Date(dueMs);
  try {
    utimesSync(from, due, due);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false; // gone: someone else moved it
    throw err; // an unusable due time: the caller puts the message back, it must not stay hidden
  }
  return tryRenameSync(from, at.delayed(q, id));
}

/** makePending() without its fsync: the caller fsyncs `requests/` once for the slice. */
export function makePendingSync(q: Queue, from: string, id: string): boolean {
  return tryRenameSync(from, at.pending(q, id));
}

/**
 * The reason file, replacing an older one. Created first and removed only if one is there: a message is
 * nearly always set aside for the first time, and an unlink of a missing file costs a system call and a
 * thrown error per message (a tenth of a 10 k sweep's CPU).
 */
function replaceNoteSync(path: string, note: Record<string, unknown>, mode: number): void {
  const text = `${JSON.stringify(note, null, 2)}\n`;
  try {
    writeNewFileSync(path, text, mode);
  } catch (err) {
    if (errnoCode(err) !== "EEXIST") throw err;
    removeFileSync(path);
    writeNewFileSync(path, text, mode);
  }
}
