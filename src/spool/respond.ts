/**
 * Answering (lifecycle steps 3 and 4). The answer is published with link(2), which refuses to replace an
 * existing file, so two responders can never both answer one message; the request is archived only after
 * the answer is durable, so a crash in between leaves "answered but not archived", which every later
 * step recognises and finishes (see src/protocol/index.ts).
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { type AnswerHook, readFinalAnswer } from "./answers.ts";
import { serialize } from "./deliver.ts";
import { crashPoint } from "./faults.ts";
import { pathExists, publishFile, stagingPath, tryRename } from "./files.ts";
import type { Queue } from "./paths.ts";
import { archive, at } from "./transitions.ts";
import { readRequest, readResponse } from "./read.ts";
import { requireQueue } from "./registry.ts";
import { notClaimedError } from "./not-claimed.ts";

export interface RespondOptions {
  sync: boolean;
  maxBytes: number;
  onAnswered?: AnswerHook | undefined;
}

/**
 * Publishes `response` and retires the claimed request. `request` is the claimed message when the caller
 * holds it (a claim handle); otherwise it is read back from `processing/` for the reply_to delivery.
 */
export async function respondTo(
  q: Queue,
  response: Response,
  opts: RespondOptions,
  request?: Request,
): Promise<Response> {
  const dir = q.dir;
  const id = response.id;
  const claimed = at.claimed(q, id);
  if (!(await pathExists(claimed))) throw await explainNotClaimed(q, id, opts);
  request ??= await claimedRequest(claimed, opts.maxBytes);

  const target = join(dir, "responses", `${id}.json`);
  const data = serialize(response);
  // An answer nobody could read back (ask, show and ls cap what they read) is refused before it is stored.
  const size = Buffer.byteLength(data);
  if (size > opts.maxBytes) {
    // A result that large moves into an attachment (src/attach), read back by ask and show; an answer
    // still too large after that (a huge error text) is refused before anything is stored.
    if (!spillable(response, opts.maxBytes)) {
      throw new AbqError("E_TOO_LARGE", `the answer to ${id} is ${size} bytes, over the ${opts.maxBytes}-byte cap`, {
        hint: "answer with a path to a file instead, or raise ABQ_MAX_BYTES for every reader too",
      });
    }
    const { spillResult } = await import("../attach/spill-result.ts");
    return spillResult(q, response, opts.sync, (spilled) => respondTo(q, spilled, opts, request));
  }
  if (response.status === "pending") {
    if (await readFinalAnswer(dir, id, opts.maxBytes)) throw await finishAnswered(q, id, opts);
    await publishFile(join(dir, "tmp"), target, data, { sync: opts.sync, replace: true });
    return response;
  }

  for (let attempt = 0; ; attempt++) {
    try {
      await publishFile(join(dir, "tmp"), target, data, { sync: opts.sync, replace: false });
      break;
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw ioError(`cannot write the answer to ${id}`, err);
      await refuseForeignAnswer(target, id);
      const existing = await readResponse(target, opts.maxBytes).catch(() => undefined);
      const isPending = existing?.ok === true && existing.value.status === "pending";
      if (!isPending || attempt >= 3) throw await finishAnswered(q, id, opts);
      // Move the progress note out of the way; if another final answer beats us to the slot, link fails again.
      await tryRename(target, stagingPath(join(dir, "tmp"), `${id}.pending`));
    }
  }
  crashPoint("respond:answered");
  await opts.onAnswered?.(request, response, false);
  await archive(q, claimed, id);
  return response;
}

/**
 * Only a regular file in the answer slot is an answer. A symbolic link (or a folder, a fifo) planted
 * there would otherwise count as "already answered": the request archived, the real answer dropped.
 * Refuse, leaving the message claimed, so nothing is lost while someone looks.
 */
async function refuseForeignAnswer(target: string, id: string): Promise<void> {
  const st = await fs.lstat(target).catch(() => undefined);
  if (st === undefined || st.isFile()) return;
  const what = st.isSymbolicLink() ? "a symbolic link" : "not a regular file";
  throw new AbqError("E_UNSAFE", `the answer slot ${target} is ${what}, not an answer; ${id} stays claimed`, {
    hint: `remove it (rm ${target}), then answer again`,
  });
}

/** Whether moving the result out would bring the answer under the cap (the rest must fit inline). */
function spillable(response: Response, maxBytes: number): boolean {
  return Buffer.byteLength(serialize({ ...response, result: "" })) + 2048 <= maxBytes; // room for the note and its entry
}

async function claimedRequest(path: string, maxBytes: number): Promise<Request | undefined> {
  const parsed = await readRequest(path, maxBytes).catch(() => undefined);
  return parsed?.ok === true ? parsed.value : undefined;
}

/** The answer already exists: complete what a crashed responder may have missed, then report the conflict. */
async function finishAnswered(q: Queue, id: string, opts: RespondOptions): Promise<AbqError> {
  const claimed = at.claimed(q, id);
  if (await pathExists(claimed)) {
    const answer = await readFinalAnswer(q.dir, id, opts.maxBytes);
    if (answer) await opts.onAnswered?.(await claimedRequest(claimed, opts.maxBytes), answer, true);
    await archive(q, claimed, id);
  }
  return new AbqError("E_CONFLICT", `message ${id} was already answered; the first answer stands`, {
    hint: `see it with: abq show ${id}`,
  });
}

export async function explainNotClaimed(q: Queue, id: string, opts: RespondOptions): Promise<AbqError> {
  const { dir } = q;
  await requireQueue(q);
  if (await readFinalAnswer(dir, id, opts.maxBytes)) return finishAnswered(q, id, opts);
  return notClaimedError(q, id);
}
