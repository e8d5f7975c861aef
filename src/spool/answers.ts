/**
 * Answers: recognising a final one, and waiting for one (`ask`, `send --wait`). Reading an answer as
 * its sender is lifecycle step 6: rename `responses/<id>.json` → `archive/<id>_response.json`, so a
 * second waiter (or a retry after a crash) finds it in the archive instead of losing it.
 */
import { join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { existsNow, pathExists, tryRename } from "./files.ts";
import { FolderSignal } from "./notify.ts";
import type { Queue } from "./paths.ts";
import { readNote, readResponse } from "./read.ts";
import { at } from "./transitions.ts";

/** Called once an answer is durable, before the request is archived (reply_to delivery hangs here). */
export type AnswerHook = (request: Request | undefined, response: Response, recovering: boolean) => Promise<void>;

/** The final (success/error) answer to `id`, wherever it is, or undefined. */
export async function readFinalAnswer(dir: string, id: string, maxBytes: number): Promise<Response | undefined> {
  for (const path of [join(dir, "responses", `${id}.json`), join(dir, "archive", `${id}_response.json`)]) {
    if (!existsNow(path)) continue; // the usual case, asked of every claim: a stat, not an open
    try {
      const parsed = await readResponse(path, maxBytes);
      if (parsed.ok && parsed.value.status !== "pending") return parsed.value;
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw ioError(`cannot read the answer of ${id}`, err);
    }
  }
  return undefined;
}

export interface WaitOptions {
  timeoutMs: number;
  backstopMs: number;
  maxBytes: number;
  signal?: AbortSignal | undefined;
  /** Called with each new pending (progress) note. */
  onPending?: ((note: Response) => void) | undefined;
}

/** Waits for the final answer to `id`, archives it as read, and returns it; null on timeout. */
export async function waitForAnswer(q: Queue, id: string, opts: WaitOptions): Promise<Response | null> {
  const folder = new FolderSignal(join(q.dir, "responses"));
  const deadline = Date.now() + opts.timeoutMs;
  let lastNote = "";
  try {
    for (;;) {
      const fresh = join(q.dir, "responses", `${id}.json`);
      const parsed = await readResponse(fresh, opts.maxBytes).catch((err: unknown) => {
        if (errnoCode(err) === "ENOENT") return undefined;
        throw err;
      });
      if (parsed?.ok === true && parsed.value.status !== "pending") {
        await tryRename(fresh, join(q.dir, "archive", `${id}_response.json`));
        return parsed.value;
      }
      if (parsed?.ok === true && parsed.value.timestamp !== lastNote) {
        lastNote = parsed.value.timestamp;
        opts.onPending?.(parsed.value);
      }
      const archived = await readFinalAnswer(q.dir, id, opts.maxBytes);
      if (archived) {
        // It may have landed in responses/ just after our first look: mark it read all the same.
        await tryRename(fresh, join(q.dir, "archive", `${id}_response.json`));
        return archived;
      }
      await failIfUnanswerable(q, id, opts.maxBytes);
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted === true) return null;
      await folder.wait(Math.min(left, opts.backstopMs), opts.signal);
    }
  } finally {
    folder.close();
  }
}

/**
 * A request that was withdrawn, acknowledged, expired, dead-lettered or rejected will not be answered:
 * say so (and why) instead of waiting out the timeout.
 */
async function failIfUnanswerable(q: Queue, id: string, maxBytes: number): Promise<void> {
  if (await pathExists(at.archived(q, id))) {
    const reason = (await readNote(at.archiveReason(q, id)))?.["reason"];
    // An answer is published before its request is archived, so an archived request without one (and
    // without a reason: an ack or cancel killed halfway) was retired unanswered.
    if (reason !== undefined || !(await readFinalAnswer(q.dir, id, maxBytes))) {
      const why = typeof reason === "string" ? reason : "archived without an answer";
      throw new AbqError("E_CONFLICT", `message ${id} will not be answered: ${why}`);
    }
  }
  if (await pathExists(at.expired(q, id))) {
    const note = await readNote(at.expiredReason(q, id));
    const ttl = typeof note?.["ttl"] === "number" ? ` (ttl ${note["ttl"]}s)` : "";
    throw new AbqError("E_CONFLICT", `message ${id} will not be answered: it expired${ttl}`, {
      hint: `see it with: abq show ${id}`,
    });
  }
  if (await pathExists(at.dead(q, id))) {
    const note = await readNote(at.deadReason(q, id));
    const why = typeof note?.["reason"] === "string" ? `: ${note["reason"]}` : "";
    throw new AbqError("E_CONFLICT", `message ${id} will not be answered: it was dead-lettered${why}`, {
      hint: `revive it with: abq requeue ${q.channel} --from-dead --id ${id}`,
    });
  }
  if (await pathExists(join(q.dir, "rejected", `${id}.json`))) {
    throw new AbqError("E_BAD_MESSAGE", `message ${id} was rejected as invalid`, {
      hint: `see why: cat ${join(q.dir, "rejected", `${id}.json.reason.json`)}`,
    });
  }
}
