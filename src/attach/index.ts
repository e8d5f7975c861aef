/**
 * Attachments by reference (docs/attachments.md): blobs stored once per content (sha256) under the bus
 * home, or in JetStream's Object Store, referenced from a message's optional `attachments` list. Sending
 * with attachments is an option of send/respond/ask (src/api/messages.ts); these are the rest.
 */
export { attachments, readSpilled, sweepAttachments, withLocalPaths } from "./api.ts";
export type { AttachmentOptions } from "./api.ts";
export type { LocalAttachment } from "./read.ts";
export type { BlobSweepOptions, BlobSweepReport } from "./retention.ts";
export type { AttachmentInput, AttachmentRef } from "./types.ts";
export { MAX_ATTACHMENTS } from "./types.ts";
