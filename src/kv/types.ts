/** The compare-and-set register's types, apart from store.ts so both stores can use them without a cycle. */
/** A stored record: a small JSON object (the kv layer's envelope, a lock holder, the reservation table). */
export type StoredRecord = Record<string, unknown>;

export interface Entry {
  key: string;
  /** Increases with every put; on NATS a bucket-wide sequence number, so not consecutive per key. */
  revision: number;
  record: StoredRecord;
}

export interface RevStore {
  /** Where it lives, for messages: a folder, or `nats bucket abq_kv_x`. */
  readonly where: string;
  get(key: string): Promise<Entry | undefined>;
  /** The new revision, or undefined when `expected` is no longer the key's revision (nothing changed). */
  put(key: string, record: StoredRecord, expected: number): Promise<number | undefined>;
  keys(): Promise<string[]>;
  /** The current entries, then every change, until `signal` aborts. */
  watch(key: string | undefined, signal: AbortSignal): AsyncIterable<Entry>;
  close(): Promise<void>;
}
