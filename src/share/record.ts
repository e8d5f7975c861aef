/**
 * What the owner has shared, kept in `$ABQ_HOME/shares.json` (0600, the owner's alone). The ACLs on disk
 * are what the kernel enforces; this record says what they should be, so `abq check` can report drift and
 * the last unshare knows which traversal entries on parent folders abq added (and removes only those).
 *
 * The record is written before ACLs are granted and after they are removed, so a share or unshare killed
 * half way always leaves a record that names every entry it may have left: running the same command again
 * completes it.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { ensureDir, FILE_MODE, publishFile } from "../spool/files.ts";
import { assertSafeDir } from "../spool/safety.ts";

export type Access = "read-only" | "read-write";

export interface Grant {
  /** `user:NAME` or `group:NAME`. */
  grantee: string;
  kind: "user" | "group";
  name: string;
  /** uid or gid, as granted (names can be renamed; the ACL holds the id). */
  id: number;
  access: Access;
  granted_at: string;
}

/** An execute-only entry abq added on a folder above a shared channel so a grantee can reach it. */
export interface Traverse {
  path: string;
  grantee: string;
  kind: "user" | "group";
  id: number;
}

export interface ShareRecord {
  version: 1;
  channels: Record<string, Grant[]>;
  traverse: Traverse[];
}

export function recordPath(home: string): string {
  return join(home, "shares.json");
}

export async function readRecord(home: string): Promise<ShareRecord> {
  const raw = await fs.readFile(recordPath(home), "utf8").catch(() => undefined);
  if (raw === undefined) return { version: 1, channels: {}, traverse: [] };
  const parsed = JSON.parse(raw) as Partial<ShareRecord>;
  return { version: 1, channels: parsed.channels ?? {}, traverse: parsed.traverse ?? [] };
}

export async function writeRecord(home: string, record: ShareRecord): Promise<void> {
  const tmp = join(home, "tmp");
  await ensureDir(tmp);
  await assertSafeDir(tmp, "folder");
  for (const [name, grants] of Object.entries(record.channels)) if (grants.length === 0) delete record.channels[name];
  await publishFile(tmp, recordPath(home), `${JSON.stringify(record, null, 2)}\n`, { sync: true, replace: true });
  await fs.chmod(recordPath(home), FILE_MODE);
}
