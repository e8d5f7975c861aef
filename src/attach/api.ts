/**
 * The library calls for attachments that are not part of send/respond/ask (those take an `attachments`
 * option: src/api/messages.ts): finding a message's attachments, extracting them, and the retention pass.
 */
import { withCapable, withTransport, type CommonOptions } from "../api/options.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { resolveAddress } from "../identity/address.ts";
import { AbqError } from "../protocol/errors.ts";
import { channelName } from "../protocol/names.ts";
import type { LocalAttachment } from "./read.ts";
import type { BlobSweepOptions, BlobSweepReport } from "./retention.ts";
import { refsOf } from "./types.ts";
import { resolveHome } from "../spool/paths.ts";

export interface AttachmentOptions extends CommonOptions {
  /** The message (request) id. */
  id: string;
  /** Only this attachment (by name). Default: all of them. */
  name?: string | undefined;
  /** Look only in this channel. */
  channel?: string | undefined;
  /**
   * Write a checked copy here: a file (one attachment), or a folder (each under its name). Without it,
   * the returned paths are the store's own read-only copies (do not modify them: they are shared).
   */
  output?: string | undefined;
}

/**
 * The attachments of a message and of its answer, each with a local path to its checked bytes: E_NO_MESSAGE
 * when the message or the named attachment does not exist, E_IO when a blob is missing or corrupt.
 */
export async function attachments(opts: AttachmentOptions): Promise<LocalAttachment[]> {
  const channel = opts.channel !== undefined ? channelName(await resolveAddress(opts.channel, opts)) : undefined;
  return withCapable(opts, "inspect", async (t) => {
    const found = await t.find(opts.id, channel);
    const { storeFor } = await import("./store.ts");
    const { localAttachments, usingBlob, writeCopy } = await import("./read.ts");
    const store = await storeFor(t, opts);
    const every = [...refsOf(found.request ?? {}), ...refsOf(found.response ?? {})];
    const all = every.filter((r) => opts.name === undefined || r.name === opts.name);
    if (opts.name !== undefined && all.length === 0) {
      const names = every.map((r) => r.name);
      throw new AbqError("E_NO_MESSAGE", `${opts.id} has no attachment named '${opts.name.slice(0, 100)}'`, {
        hint: names.length > 0 ? `it has: ${names.join(", ").slice(0, 300)}` : "it has no attachments",
      });
    }
    if (opts.output !== undefined && opts.name === undefined && all.length > 1) {
      const { stat } = await import("../fs-promised.ts");
      const isDir = await stat(opts.output).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDir)
        throw new AbqError("E_USAGE", `${opts.id} has ${all.length} attachments: name one, or give a folder to -o`);
    }
    const out: LocalAttachment[] = [];
    for (const ref of all) {
      if (opts.output === undefined) {
        out.push(...(await localAttachments(store, { attachments: [ref] }, opts.id)));
        continue;
      }
      // One pass: the copy is hashed as it is written (the local copy's own check would read it twice).
      const output = opts.output;
      const quick = (await store.local.has(ref.sha256)) ? store.local.blobPath(ref.sha256) : undefined;
      const path = await usingBlob(store, ref, opts.id, (source) => writeCopy(source, ref, output, opts.id), quick);
      out.push({ ...ref, path });
    }
    return out;
  });
}

/**
 * Removes blobs no message references any more (the sweep's last pass; `abq sweep` runs it on a whole-bus
 * sweep). Safe alongside sends and other sweeps: see src/attach/retention.ts.
 */
export async function sweepAttachments(
  opts: Pick<CommonOptions, "home"> & BlobSweepOptions = {},
): Promise<BlobSweepReport> {
  const { sweepBlobs } = await import("./retention.ts");
  return sweepBlobs(resolveHome(opts), opts);
}

/**
 * A found message (`show`) with its spilled content and result read back in place of their notes
 * (copies; what was found, when nothing spilled). E_IO when a spilled blob is missing or corrupt.
 */
export async function readSpilled<T extends { request?: Request | undefined; response?: Response | undefined }>(
  found: T,
  opts: CommonOptions = {},
): Promise<T> {
  const spilled = (m: object | undefined) =>
    m !== undefined && refsOf(m as Record<string, unknown>).some((r) => r.spilled);
  if (!spilled(found.request) && !spilled(found.response)) return found;
  return withTransport(opts, async (t) => {
    const { storeFor } = await import("./store.ts");
    const { hydrate } = await import("./read.ts");
    const store = await storeFor(t, opts);
    const out = { ...found };
    if (found.request !== undefined) out.request = await hydrate(store, found.request, "content", found.request.id);
    if (found.response !== undefined) out.response = await hydrate(store, found.response, "result", found.response.id);
    return out;
  });
}

/**
 * `message` with each `attachments` entry given its local, checked `path` (what MCP tools return, and
 * what handlers get on stdin); the message as given when it has none.
 */
export async function withLocalPaths<M extends { id: string }>(message: M, opts: CommonOptions = {}): Promise<M> {
  if (refsOf(message).length === 0) return message;
  return withTransport(opts, async (t) => {
    const { storeFor } = await import("./store.ts");
    const { localAttachments } = await import("./read.ts");
    return { ...message, attachments: await localAttachments(await storeFor(t, opts), message, message.id) };
  });
}
