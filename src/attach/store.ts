/**
 * Which blob store a transport uses. The file spool keeps blobs under its home (file-store.ts); a
 * transport that has its own store (JetStream's Object Store: src/nats/attach-store.ts) offers it through
 * an `attachmentStore()` method, keeping a local verified copy under the home for handlers and `-o`.
 */
import { resolveMaxBytes, resolveFsync } from "../spool/files.ts";
import { resolveHome } from "../spool/paths.ts";
import { type BlobSource, FileBlobStore, type Pins, type StoredBlob } from "./file-store.ts";
import type { AttachmentRef } from "./types.ts";
import { currentStoreSource } from "./source.ts";

export interface BlobStore {
  /** The local copy (the whole store, on the spool). */
  readonly local: FileBlobStore;
  /** A message (or answer) file larger than this, in bytes, has its content (or result) spilled. */
  readonly inlineCap: number;
  /** Streams `source` into the store; its blob stays pinned in `pins` until they are released. */
  put(source: BlobSource, pins: Pins): Promise<StoredBlob>;
  /** A local path to the blob, its bytes checked against `ref.sha256` (E_IO when missing or corrupt). */
  localPath(ref: AttachmentRef, id?: string): Promise<string>;
}

/** A transport (or anything) that may bring its own store. */
interface StoreCarrier {
  home?: unknown;
  attachmentStore?: () => Promise<BlobStore>;
}

/** The spool's store: everything is local. */
export function fileStore(home: string, fsync?: boolean): BlobStore {
  const local = new FileBlobStore(home, resolveFsync({ fsync }));
  return {
    local,
    inlineCap: resolveMaxBytes(),
    put: (source, pins) => local.put(source, pins),
    localPath: (ref, id) => local.verifiedPath(ref, id),
  };
}

/** The store of `transport` (its own, else the file store of its home, else of `opts`). */
export async function storeFor(
  transport: unknown,
  opts: { home?: string | undefined; fsync?: boolean | undefined } = {},
): Promise<BlobStore> {
  const t = transport as StoreCarrier | undefined;
  if (typeof t?.attachmentStore === "function") return t.attachmentStore();
  const home = typeof t?.home === "string" ? t.home : resolveHome(opts);
  return fileStore(home, opts.fsync);
}

/** The store for a process that holds no transport (a watch handler's run): see source.ts. */
export async function defaultStore(home: string): Promise<BlobStore> {
  const source = currentStoreSource();
  return source !== undefined ? ((await source()) as BlobStore) : fileStore(home);
}
