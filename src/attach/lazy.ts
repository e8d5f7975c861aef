/**
 * How send, respond, ask and recv (src/api/messages.ts) reach the attachment code: only when a message has
 * or needs attachments is it loaded, so a plain send stays as fast as it was (no node:crypto, no streams).
 */
import type { CommonOptions } from "../api/options.ts";
import type { ClaimHandle } from "../lifecycle/transport.ts";
import type { AttachmentInput } from "./types.ts";
import { resolveMaxBytes } from "../spool/files.ts";

/**
 * Whether `text` surely fits inline, without loading the spill code: JSON escapes a character to at most
 * 6 bytes, and no inline cap is taken to be above 256 KiB here (NATS's is half its max_payload), so
 * anything longer gets the exact check (src/attach/prepare.ts).
 */
export function surelyInline(text: string): boolean {
  return text.length * 6 + 16 * 1024 <= Math.min(resolveMaxBytes(), 256 * 1024);
}

/**
 * Runs `deliver` with `message` as is, or, when it has attachments or may be over the inline cap, with
 * its blobs stored (and pinned until `deliver` is done) and an oversized text field spilled. The
 * attachment code is loaded only then, so a plain send stays as fast as it was.
 */
export async function withBlobs<F extends "content" | "result", M extends { id: string } & Record<F, string>, R>(
  t: unknown,
  opts: CommonOptions,
  message: M,
  field: F,
  extra: { attachments?: readonly AttachmentInput[] | undefined; source?: AsyncIterable<Uint8Array> | undefined },
  deliver: (message: M) => Promise<R>,
): Promise<R> {
  const inputs = extra.attachments ?? [];
  if (inputs.length === 0 && extra.source === undefined && surelyInline(message[field])) {
    return deliver(message);
  }
  const [{ storeFor }, { withAttachments }] = await Promise.all([
    import("../attach/store.ts"),
    import("../attach/prepare.ts"),
  ]);
  return withAttachments(await storeFor(t, opts), message, field, inputs, deliver, extra.source);
}

/** The spilled text of `message` read back in place of its note (a copy), when it has any. */
export async function readBack<M extends object>(
  t: unknown,
  opts: CommonOptions,
  message: M,
  field: "content" | "result",
  id: string,
): Promise<M> {
  if (!Array.isArray((message as { attachments?: unknown }).attachments)) return message;
  const [{ storeFor }, { hydrate }] = await Promise.all([import("../attach/store.ts"), import("../attach/read.ts")]);
  return hydrate(await storeFor(t, opts), message, field, id);
}

/**
 * The claim, its spilled content read back into `message` (the handle's acts use only the id). The
 * handle's `path` is still the message file, which holds the note.
 */
export async function withContentReadBack(t: unknown, opts: CommonOptions, claim: ClaimHandle): Promise<ClaimHandle> {
  let full;
  try {
    full = await readBack(t, opts, claim.message, "content", claim.message.id);
  } catch (err) {
    // A missing or corrupt blob: give the message back untouched (not a failed attempt) and say why.
    await claim.release().catch(() => undefined);
    throw err;
  }
  if (full !== claim.message) Object.defineProperty(claim, "message", { value: full, enumerable: true });
  return claim;
}
