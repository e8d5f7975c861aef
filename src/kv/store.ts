/**
 * The one primitive kv, locks and reservations are built on: a register per key with a revision number
 * and compare-and-set. `put(key, record, expected)` makes `record` the revision after `expected` (0: the
 * key must not exist yet) and fails, changing nothing, when someone else moved the key on first. Two
 * stores implement it: files under the bus home (file-store.ts) and a JetStream KV bucket
 * (src/nats/kv-store.ts, loaded only for a nats:// bus).
 */
import { join } from "node:path";
import type { CommonOptions } from "../api/options.ts";
import { AbqError } from "../protocol/errors.ts";
import { resolveHome } from "../spool/paths.ts";
import { schemeOf } from "../transports.ts";
import { FileStore } from "./file-store.ts";
import type { RevStore } from "./types.ts";

export type { Entry, RevStore, StoredRecord } from "./types.ts";

/** Which store: a kv bucket, the locks, or the reservation table. */
export type Area = { kind: "kv"; bucket: string } | { kind: "locks" } | { kind: "reservations" };

export function fileRoot(home: string, area: Area): string {
  return area.kind === "kv" ? join(home, "kv", area.bucket) : join(home, area.kind);
}

export function natsBucket(area: Area): string {
  return area.kind === "kv" ? `abq_kv_${area.bucket}` : `abq_${area.kind}`;
}

/** Opens the store for `area` on the bus the options name (`url`, `$ABQ_URL`, else the spool at home). */
export async function openStore(opts: CommonOptions, area: Area): Promise<RevStore> {
  const url = opts.url ?? process.env["ABQ_URL"];
  const scheme = schemeOf(url);
  if (scheme === "nats" || scheme === "tls") {
    const { NatsKvStore } = await import("../nats/kv-store.ts");
    return NatsKvStore.open(url!, natsBucket(area));
  }
  if (scheme !== "file") {
    throw new AbqError("E_USAGE", `kv, locks and reservations need a file or nats bus, not '${scheme}://'`, {
      hint: "unset ABQ_URL to use the local bus",
    });
  }
  const home = url ? decodeURIComponent(new URL(url).pathname) : resolveHome(opts);
  return new FileStore(home, fileRoot(home, area), opts.fsync);
}

/** Runs `fn` with the store for `area`, closing it afterwards. */
export async function withStore<T>(opts: CommonOptions, area: Area, fn: (s: RevStore) => Promise<T>): Promise<T> {
  const store = await openStore(opts, area);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
