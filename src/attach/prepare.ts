/**
 * The sending side: store each attachment, move content (or an answer's result) that would make the
 * message file too large into an attachment, and deliver while the blobs are pinned, so a sweep running
 * at the same time never removes a blob this message is about to reference (retention.ts).
 */
import { constants, createReadStream } from "node:fs";
import * as fs from "../fs-promised.ts";
import { basename } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { serialize } from "../spool/deliver.ts";
import type { BlobSource, Pins } from "./file-store.ts";
import type { BlobStore } from "./store.ts";
import { type AttachmentInput, type AttachmentRef, checkName, checkUnique, mediaTypeOf, refsOf } from "./types.ts";

/** Text spilled into an attachment is stored as UTF-8. */
export const SPILLED_MEDIA_TYPE = "text/plain; charset=utf-8";
const SPILL_NAME = { content: "content.txt", result: "result.txt" } as const;

type Spillable = "content" | "result";
type WithField<F extends Spillable> = { id: string; attachments?: AttachmentRef[] } & Record<F, string>;

/**
 * Stores `inputs`, spills `field` when the message would be over the store's inline cap, then runs
 * `deliver` with the finished message while its blobs are pinned. `source` streams the field's text
 * when it was too large to hold (oversized stdin): then the field itself holds only what was read.
 */
export async function withAttachments<F extends Spillable, M extends WithField<F>, R>(
  store: BlobStore,
  message: M,
  field: F,
  inputs: readonly AttachmentInput[],
  deliver: (message: M) => Promise<R>,
  source?: BlobSource,
): Promise<R> {
  const pins = store.local.pins();
  try {
    const refs = [...refsOf(message)];
    for (const input of inputs) refs.push(await storeInput(store, input, pins));
    let out: M = refs.length > 0 ? { ...message, attachments: refs } : message;
    if (source !== undefined) out = await spill(store, out, field, source, pins);
    else if (Buffer.byteLength(serialize(out)) > store.inlineCap)
      out = await spill(store, out, field, [Buffer.from(out[field], "utf8")], pins);
    checkUnique(refsOf(out));
    return await deliver(out);
  } finally {
    await pins.release();
  }
}

async function storeInput(store: BlobStore, input: AttachmentInput, pins: Pins): Promise<AttachmentRef> {
  if (typeof input !== "string" && "stream" in input) {
    const name = checkName(input.name);
    const blob = await store.put(input.stream, pins);
    return { name, ...blob, media_type: mediaTypeOf(name) };
  }
  const path = typeof input === "string" ? input : input.path;
  const name = checkName(typeof input === "string" || input.name === undefined ? basename(path) : input.name);
  const fd = await openInput(path);
  const blob = await store.put(createReadStream("", { fd, highWaterMark: 1024 * 1024 }), pins);
  return { name, ...blob, media_type: mediaTypeOf(name) };
}

/** Opens a file to attach: one line (E_USAGE) when it is missing, unreadable or a folder. */
async function openInput(path: string): Promise<number> {
  let fd: number;
  try {
    fd = await fs.open(path, constants.O_RDONLY);
  } catch (err) {
    const code = errnoCode(err) ?? "error";
    throw new AbqError("E_USAGE", `cannot attach ${path.slice(0, 200)}: ${code === "ENOENT" ? "no such file" : code}`);
  }
  const st = await fs.fstat(fd);
  if (st.isDirectory()) {
    await fs.close(fd);
    throw new AbqError("E_USAGE", `cannot attach ${path.slice(0, 200)}: it is a folder`, {
      hint: "attach an archive of it instead (tar czf - DIR | abq send … --attach - --attach-name DIR.tgz)",
    });
  }
  return fd;
}

async function spill<F extends Spillable, M extends WithField<F>>(
  store: BlobStore,
  message: M,
  field: F,
  source: BlobSource,
  pins: Pins,
): Promise<M> {
  const refs = refsOf(message);
  let name: string = SPILL_NAME[field];
  for (let i = 2; refs.some((r) => r.name === name); i++) name = `${field}-${i}.txt`;
  const blob = await store.put(source, pins);
  const ref: AttachmentRef = { name, ...blob, media_type: SPILLED_MEDIA_TYPE, spilled: field };
  return { ...message, [field]: spillNote(field, message.id, ref), attachments: [...refs, ref] };
}

/** What a reader that does not know attachments (the seed) sees in place of the spilled text. */
export function spillNote(field: Spillable, id: string, ref: AttachmentRef): string {
  const what = field === "content" ? "content" : "answer";
  return (
    `[abq: this ${what} is ${ref.size} bytes, over the inline cap, so it is in the attachment ${ref.name} ` +
    `(sha256 ${ref.sha256}); abq show ${id} prints it, abq attachment ${id} ${ref.name} extracts it]`
  );
}
