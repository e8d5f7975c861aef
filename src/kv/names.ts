/**
 * Names of kv buckets, keys and locks. They become folder names on the spool and key names in a JetStream
 * KV bucket, so they are checked where they enter: a name can never point outside its folder (no `/`,
 * no `..`, no leading `.`, no NUL) and is valid on both transports (NATS keys may not start or end with
 * `.`; bucket names allow only letters, digits, `_` and `-`).
 */
import { AbqError } from "../protocol/errors.ts";

/** 1-64 of a-z 0-9 _ -, starting with a letter or digit (also a JetStream bucket name, after a prefix). */
export const BUCKET_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** 1-200 of A-Z a-z 0-9 . _ = -, not starting or ending with `.`, no `..`. */
export const KEY_PATTERN = /^[A-Za-z0-9_=-](?:[A-Za-z0-9._=-]{0,198}[A-Za-z0-9_=-])?$/;

function shown(name: string): string {
  const text = name.length > 70 ? `${name.slice(0, 67)}...` : name;
  return JSON.stringify(text).slice(1, -1); // NUL and control characters as escapes, on one line
}

export function bucketName(name: string): string {
  if (typeof name !== "string" || !BUCKET_PATTERN.test(name)) {
    throw new AbqError(
      "E_BAD_NAME",
      `invalid bucket name '${shown(String(name))}': use 1-64 of a-z 0-9 _ - starting with a letter or digit`,
    );
  }
  return name;
}

/** A key or lock name (`what` says which, for the error). */
export function keyName(name: string, what = "key"): string {
  if (typeof name !== "string" || !KEY_PATTERN.test(name) || name.includes("..")) {
    throw new AbqError(
      "E_BAD_NAME",
      `invalid ${what} name '${shown(String(name))}': use 1-200 of A-Z a-z 0-9 . _ = -, not starting or ending with '.', no '..'`,
    );
  }
  return name;
}
