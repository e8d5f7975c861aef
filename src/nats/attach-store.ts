/**
 * Attachments over NATS: blobs live in the JetStream Object Store bucket `abq-blobs`, named by their
 * sha256, so every machine of the bus reads the same bytes. Each machine keeps a local checked copy in
 * its own blob store under ABQ_HOME (src/attach/file-store.ts): written first on send (that is where the
 * sha256 is computed, streaming), downloaded on first read, and what handlers and `-o` are given.
 * The Object Store checks its own digest on every download; the local copy is checked against the
 * message's sha256 as well.
 */
import { Objm, type ObjectInfo, type ObjectStore } from "@nats-io/obj";
import { createReadStream } from "node:fs";
import { corruptBlob, FileBlobStore, missingBlob } from "../attach/file-store.ts";
import { withAttachments } from "../attach/prepare.ts";
import type { BlobStore } from "../attach/store.ts";
import type { Response } from "../protocol/schema.ts";
import { natsInlineCap } from "./attach-cap.ts";
import { natsError, retrying } from "./connect.ts";
import type { NatsContext } from "./context.ts";

export const BLOB_BUCKET = "abq-blobs";

async function openBucket(ctx: NatsContext): Promise<ObjectStore> {
  const objm = new Objm(ctx.js);
  return retrying(ctx.s, "cannot open the attachment store", () =>
    objm.create(BLOB_BUCKET, { replicas: ctx.s.replicas, description: "abq attachments, named by sha256" }),
  );
}

export async function natsBlobStore(ctx: NatsContext): Promise<BlobStore> {
  const bucket = await openBucket(ctx);
  const local = new FileBlobStore(ctx.home, true);
  return {
    local,
    inlineCap: natsInlineCap(ctx),
    async put(source, pins) {
      const blob = await local.put(source, pins);
      const known = await bucket.info(blob.sha256).catch(() => null);
      if (known === null || known.deleted || known.size !== blob.size) {
        const { Readable } = process.getBuiltinModule("node:stream");
        const file = createReadStream(local.blobPath(blob.sha256), { highWaterMark: 128 * 1024 });
        await bucket
          .put({ name: blob.sha256 }, Readable.toWeb(file) as ReadableStream<Uint8Array>)
          .catch((err: unknown) => Promise.reject(natsError("cannot upload the attachment", ctx.s, err)));
      }
      return blob;
    },
    async localPath(ref, id) {
      if (await local.has(ref.sha256)) return local.verifiedPath(ref, id);
      const info = await bucket.info(ref.sha256).catch(() => null);
      if (info === null || info.deleted) throw missingBlob(ref, id, `the Object Store bucket ${BLOB_BUCKET}`);
      const pins = local.pins();
      try {
        const blob = await local.put(chunksOf(ctx, info), pins);
        if (blob.sha256 !== ref.sha256) throw corruptBlob(ref, id, `${BLOB_BUCKET}/${ref.sha256}`);
      } finally {
        await pins.release();
      }
      return local.blobPath(ref.sha256);
    },
  };
}

/**
 * An object's chunks, pulled a few at a time: the client's own `get` pushes every chunk into a stream
 * without waiting for the reader, which holds a large object in memory when the disk is slower than the
 * network. The local store hashes what arrives and the caller compares it with the message's sha256.
 */
async function* chunksOf(ctx: NatsContext, info: ObjectInfo): AsyncGenerator<Uint8Array> {
  if (info.size === 0) return;
  const consumer = await ctx.js.consumers.get(`OBJ_${BLOB_BUCKET}`, {
    filter_subjects: `$O.${BLOB_BUCKET}.C.${info.nuid}`,
  });
  const messages = await consumer.consume({ max_messages: 8 });
  try {
    for await (const m of messages) {
      if (m.data.length > 0) yield m.data;
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
}

/** An answer over the inline cap: its result moves into the Object Store (see src/nats/respond.ts). */
export async function spillNatsResult(
  ctx: NatsContext,
  store: BlobStore | undefined,
  response: Response,
  answer: (spilled: Response) => Promise<Response>,
): Promise<Response> {
  const blobs = store ?? (await natsBlobStore(ctx));
  return withAttachments(blobs, response, "result", [], answer, [Buffer.from(response.result, "utf8")]);
}
