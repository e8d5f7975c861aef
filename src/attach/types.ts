/**
 * What an attachment is on the wire and in the library: a reference (name, sha256, size, media type) in
 * a message's optional `attachments` list, to a blob kept once per content in the bus's blob store. This
 * module loads nothing heavy: the send path imports it only when a message has or needs attachments.
 */
import { AbqError } from "../protocol/errors.ts";
import type { Readable } from "node:stream";

/** One entry of a message's `attachments` list, as stored. */
export interface AttachmentRef {
  name: string;
  /** Lowercase hex SHA-256 of the bytes: the blob's address, checked on every read. */
  sha256: string;
  size: number;
  media_type: string;
  /** Set when abq moved an oversized `content` (request) or `result` (answer) into this attachment. */
  spilled?: "content" | "result";
}

/** What a caller attaches: a file path, or a named stream (stdin). */
export type AttachmentInput = string | { path: string; name?: string | undefined } | { name: string; stream: Readable };

/** Most attachments on one message: the list travels inside the message, which has a size cap. */
export const MAX_ATTACHMENTS = 64;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/**
 * A name a handler can use as a file name as it is: no folder part, no control characters, not `.`/`..`,
 * at most 255 bytes. Names come from other agents, so `abq attachment … -o` never trusts them as paths.
 */
export function checkName(name: string): string {
  const bad =
    name === "" ||
    name === "." ||
    name === ".." ||
    name.includes("/") ||
    name.includes("\\") ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(name) ||
    Buffer.byteLength(name) > 255;
  if (bad) {
    throw new AbqError("E_USAGE", `attachment name '${escapeName(name)}' is not a plain file name`, {
      hint: "use --attach-name with 1-255 bytes, no '/', no control characters",
    });
  }
  return name;
}

function escapeName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.slice(0, 80).replace(/[\u0000-\u001f\u007f]/g, "?");
}

const MEDIA_TYPES: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  diff: "text/x-diff",
  patch: "text/x-diff",
  json: "application/json",
  jsonl: "application/x-ndjson",
  csv: "text/csv",
  html: "text/html",
  xml: "application/xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
};

/** The media type a name suggests; unknown extensions are plain bytes. */
export function mediaTypeOf(name: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return (ext !== undefined ? MEDIA_TYPES[ext] : undefined) ?? "application/octet-stream";
}

/** A message's attachment list as read from disk: only well-formed entries (a stranger's file may hold anything). */
export function refsOf(message: Record<string, unknown>): AttachmentRef[] {
  const list = message["attachments"];
  if (!Array.isArray(list)) return [];
  return list.filter(
    (a): a is AttachmentRef =>
      typeof a === "object" &&
      a !== null &&
      typeof (a as AttachmentRef).name === "string" &&
      typeof (a as AttachmentRef).sha256 === "string" &&
      SHA256_PATTERN.test((a as AttachmentRef).sha256) &&
      Number.isSafeInteger((a as AttachmentRef).size),
  );
}

/** Refuses two attachments of one message with the same name (a handler could not tell them apart). */
export function checkUnique(refs: readonly AttachmentRef[]): void {
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.name)) throw new AbqError("E_USAGE", `two attachments are named '${escapeName(r.name)}'`);
    seen.add(r.name);
  }
  if (refs.length > MAX_ATTACHMENTS)
    throw new AbqError("E_USAGE", `${refs.length} attachments: at most ${MAX_ATTACHMENTS} per message`);
}
