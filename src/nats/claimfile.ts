/**
 * Handlers get the claimed message as a file (`$1`, ABQ_MSG_FILE), but on NATS the message lives in a
 * stream. So a claim materialises it, byte for byte as the filesystem transport would store it, at
 * `$ABQ_HOME/nats/<channel>[/sub-<name>]/processing/<id>.json` (0600, written whole then renamed, so a
 * reader never sees half of it). It lives under the home rather than in a per-process temp folder so the
 * path `abq recv` prints stays valid after that process exits; respond and release (from any process on
 * this machine) remove it.
 *
 * The file is written when the claim handle's `path` is first read (src/nats/claim-handle.ts), not on
 * every claim: creating a file costs about as much as a network round trip on a plain ext4 disk, and
 * library users who never look at the path (or answer in memory) should not pay for it. Reading `path` is synchronous, hence the sync writes;
 * messages are small, so they block the loop for microseconds.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { serialize } from "../spool/deliver.ts";
import { ioError } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";
import { consumerName, encodeName } from "./names.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";

export function claimFilePath(
  home: string,
  channel: ChannelName,
  subscriber: SubscriberName | undefined,
  id: string,
): string {
  const queue = subscriber === undefined ? [] : [consumerName(subscriber)];
  return join(home, "nats", encodeName(channel), ...queue, "processing", `${id}.json`);
}

const made = new Set<string>();

export function writeClaimFile(path: string, message: Request): void {
  const dir = join(path, "..");
  try {
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      made.add(dir);
    }
    const staging = join(dir, `.${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(staging, serialize(message), { mode: 0o600 });
    renameSync(staging, path);
  } catch (err) {
    made.delete(dir);
    throw ioError(`cannot write the claimed message to ${path}`, err);
  }
}

export async function removeClaimFile(path: string): Promise<void> {
  await fs.unlink(path).catch(() => undefined); // never written, or already gone: fine
}
