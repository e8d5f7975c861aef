/**
 * The reading side: the local, checked paths of a message's attachments, spilled text read back in place
 * of its note, and copies written out (`abq attachment -o`). Every read checks the bytes against their
 * sha256 first; a mismatch is one E_IO line and the message itself is left as it is.
 */
import { constants, createReadStream, write } from "node:fs";
import { promisify } from "node:util";
import type * as StreamPromises from "node:stream/promises";
import * as fs from "../fs-promised.ts";
import { dirname, join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { DIR_MODE, FILE_MODE, stagingPath } from "../spool/files.ts";
import { nodeCrypto } from "../protocol/random.ts";
import { corruptBlob } from "./file-store.ts";
import type { BlobStore } from "./store.ts";
import { type AttachmentRef, refsOf } from "./types.ts";

const writeFd = promisify(write);

/** Spilled text up to this size is read back into the message; larger stays a note (use its path). */
export const HYDRATE_MAX = 256 * 1024 * 1024;

/** An attachment with the local path of its checked bytes. */
export interface LocalAttachment extends AttachmentRef {
  path: string;
}

/** `message` with its spilled `field` read back (a copy; the message as given when nothing spilled). */
export async function hydrate<M extends object>(
  store: BlobStore,
  message: M,
  field: "content" | "result",
  id: string,
): Promise<M> {
  const ref = refsOf(message as Record<string, unknown>).find((r) => r.spilled === field);
  if (ref === undefined || ref.size > HYDRATE_MAX) return message;
  const text = await usingBlob(store, ref, id, (path) => fs.readFile(path, "utf8"));
  return { ...message, [field]: text };
}

/**
 * `use` run on the blob's path (`first`, else the checked path). A sweep may move the blob to trash/ for
 * a moment between the check and the use (retention.ts): on ENOENT the checked path is taken again,
 * which waits for the sweep to put it back.
 */
export async function usingBlob<T>(
  store: BlobStore,
  ref: AttachmentRef,
  id: string | undefined,
  use: (path: string) => Promise<T>,
  first?: string,
): Promise<T> {
  for (let attempt = 0, path = first ?? (await store.localPath(ref, id)); ; attempt++) {
    try {
      return await use(path);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" || attempt >= 10) throw err;
      path = await store.localPath(ref, id);
    }
  }
}

/** Whether anything in `message` was spilled (cheap: no attachment code needed to call it). */
export function hasSpilled(message: object, field: "content" | "result"): boolean {
  return refsOf(message as Record<string, unknown>).some((r) => r.spilled === field);
}

/** Each attachment of `message` with its local path, checked (E_IO on the first missing or corrupt one). */
export async function localAttachments(store: BlobStore, message: object, id: string): Promise<LocalAttachment[]> {
  const out: LocalAttachment[] = [];
  for (const ref of refsOf(message as Record<string, unknown>)) {
    out.push({ ...ref, path: await store.localPath(ref, id) });
  }
  return out;
}

/**
 * Copies a blob to `target`, hashing it on the way: staged beside `target` and renamed into place only
 * when its bytes match `ref.sha256`, so `target` never holds a partial or corrupt copy (E_IO then). An
 * existing file is replaced (like `cp`); a folder target takes the attachment's name.
 */
export async function writeCopy(source: string, ref: AttachmentRef, target: string, id?: string): Promise<string> {
  const st = await fs.stat(target).catch(() => undefined);
  const dest = st?.isDirectory() === true ? join(target, ref.name) : target;
  const staged = stagingPath(dirname(dest), ".abq-attachment");
  const hash = nodeCrypto().createHash("sha256");
  // Opened first, its error as is: ENOENT lets the caller look again (a sweep's trash window, retention.ts).
  const input = await fs.open(source, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
    throw errnoCode(err) === "ENOENT" ? err : ioError(`cannot read ${source}`, err);
  });
  let streaming = false; // the stream closes `input` from then on
  try {
    await fs.mkdir(dirname(dest), { recursive: true, mode: DIR_MODE });
    const out = await fs.open(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    try {
      streaming = true;
      for await (const chunk of createReadStream("", { fd: input, highWaterMark: 1024 * 1024 })) {
        const buf = chunk as Buffer;
        hash.update(buf);
        for (let off = 0; off < buf.length;) off += (await writeFd(out, buf, off, buf.length - off)).bytesWritten;
      }
    } finally {
      await fs.close(out);
    }
  } catch (err) {
    if (!streaming) await fs.close(input).catch(() => undefined);
    await fs.removeFile(staged).catch(() => undefined);
    if (errnoCode(err) === "EISDIR") throw new AbqError("E_USAGE", `${dest} is a folder`);
    throw ioError(`cannot write ${dest}`, err);
  }
  if (hash.digest("hex") !== ref.sha256) {
    await fs.removeFile(staged).catch(() => undefined);
    throw corruptBlob(ref, id, source);
  }
  await fs.rename(staged, dest).catch(async (err: unknown) => {
    await fs.removeFile(staged).catch(() => undefined);
    throw ioError(`cannot write ${dest}`, err);
  });
  return dest;
}

/** Streams a checked blob to `out` (stdout): checked before the first byte goes out. */
export async function streamCopy(source: string, out: NodeJS.WritableStream): Promise<void> {
  const input = await fs.open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  await pipeline(createReadStream("", { fd: input, highWaterMark: 1024 * 1024 }), out, { end: false });
}

/** node:stream/promises, loaded when a copy is made (not at start-up: see scripts/bundle.mjs). */
function pipeline(...args: Parameters<typeof StreamPromises.pipeline>): Promise<void> {
  return process.getBuiltinModule("node:stream/promises").pipeline(...args);
}
