/**
 * Handlers get the claimed message as a file (`$1`, ABQ_MSG_FILE), but on NATS the message lives in a
 * stream. A claim therefore writes it, byte for byte as the filesystem transport would store it, to
 * `$ABQ_HOME/nats/<channel>[/sub-<name>]/processing/<id>.json` (0600, written whole then renamed, so a
 * reader never sees half of it). It lives under the home rather than in a per-process temp folder so the
 * path `abq recv` prints stays valid after it exits; respond and release (from any process on this
 * machine) remove it.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { serialize } from "../channel/deliver.ts";
import type { Request } from "../protocol/schema.ts";
import { consumerName, encodeName } from "./names.ts";

export function claimFilePath(home: string, channel: string, subscriber: string | undefined, id: string): string {
  const queue = subscriber === undefined ? [] : [consumerName(subscriber)];
  return join(home, "nats", encodeName(channel), ...queue, "processing", `${id}.json`);
}

const made = new Set<string>();

export async function writeClaimFile(path: string, message: Request): Promise<void> {
  const dir = join(path, "..");
  if (!made.has(dir)) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    made.add(dir); // once per process: a claim is on the hot path
  }
  const staging = join(dir, `.${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`);
  await fs.writeFile(staging, serialize(message), { mode: 0o600 });
  await fs.rename(staging, path);
}

export async function removeClaimFile(path: string): Promise<void> {
  await fs.rm(path, { force: true }).catch(() => undefined);
}
