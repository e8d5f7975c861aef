/** Shared key-value state (`abq kv`), and the compare-and-set store locks and reservations share. */
export { kvGet, kvSet, kvDel, kvList, kvWatch, MAX_KV_VALUE_BYTES } from "./kv.ts";
export type { KvEntry, KvKeyOptions, KvSetOptions, KvDelOptions, KvListResult, KvChange } from "./kv.ts";
export { bucketName, keyName, BUCKET_PATTERN, KEY_PATTERN } from "./names.ts";
