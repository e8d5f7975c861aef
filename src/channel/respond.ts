/**
 * Answering (lifecycle steps 3 and 4). The answer is published with link(2), which refuses to replace an
 * existing file, so two responders can never both answer one message; the request is archived only after
 * the answer is durable, so a crash in between leaves "answered but not archived", which every later
 * step recognises and finishes (see src/protocol/index.ts).
 */
import { join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import type { Response } from "../protocol/schema.ts";
import type { RespondResult } from "../transport.ts";
import { hasFinalAnswer } from "./claim.ts";
import { serialize } from "./deliver.ts";
import { crashPoint } from "./faults.ts";
import { pathExists, publishFile, stagingPath, tryRename } from "./files.ts";
import { channelDir } from "./paths.ts";
import { readResponse } from "./read.ts";
import { noChannel } from "./registry.ts";

export async function respondTo(
  home: string,
  channel: string,
  response: Response,
  opts: { sync: boolean; maxBytes: number },
): Promise<RespondResult> {
  const dir = channelDir(home, channel);
  const id = response.id;
  const claimed = join(dir, "processing", `${id}.json`);
  if (!(await pathExists(claimed))) throw await explainNotClaimed(dir, channel, id);

  const target = join(dir, "responses", `${id}.json`);
  const data = serialize(response);
  if (response.status === "pending") {
    if (await hasFinalAnswer(dir, id)) throw await finishAnswered(dir, id);
    await publishFile(join(dir, "tmp"), target, data, { sync: opts.sync, replace: true });
    return { response };
  }

  for (let attempt = 0; ; attempt++) {
    try {
      await publishFile(join(dir, "tmp"), target, data, { sync: opts.sync, replace: false });
      break;
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw ioError(`cannot write the answer to ${id}`, err);
      const existing = await readResponse(target, opts.maxBytes).catch(() => undefined);
      const isPending = existing?.ok === true && existing.value.status === "pending";
      if (!isPending || attempt >= 3) throw await finishAnswered(dir, id);
      // Move the progress note out of the way; if another final answer beats us to the slot, link fails again.
      await tryRename(target, stagingPath(join(dir, "tmp"), `${id}.pending`));
    }
  }
  crashPoint("respond:answered");
  await tryRename(claimed, join(dir, "archive", `${id}_request.json`));
  return { response };
}

/** The answer already exists: complete the archive step a crashed responder may have missed. */
async function finishAnswered(dir: string, id: string): Promise<AbqError> {
  await tryRename(join(dir, "processing", `${id}.json`), join(dir, "archive", `${id}_request.json`));
  return new AbqError("E_CONFLICT", `message ${id} was already answered; the first answer stands`, {
    hint: `see it with: abq show ${id}`,
  });
}

async function explainNotClaimed(dir: string, channel: string, id: string): Promise<AbqError> {
  if (!(await pathExists(join(dir, "requests")))) return noChannel(channel);
  if (await hasFinalAnswer(dir, id)) return finishAnswered(dir, id);
  if (await pathExists(join(dir, "requests", `${id}.json`))) {
    return new AbqError("E_CONFLICT", `message ${id} is still pending, not claimed`, {
      hint: `claim it first with: abq recv ${channel}`,
    });
  }
  if (await pathExists(join(dir, "archive", `${id}_request.json`))) {
    return new AbqError("E_CONFLICT", `message ${id} is already archived`, { hint: `see it with: abq show ${id}` });
  }
  return new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${channel}'`, {
    hint: `list claimed messages with: abq ls ${channel} processing`,
  });
}
