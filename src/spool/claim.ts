/**
 * Claiming (lifecycle step 2).
 *
 * A claimer renames first and reads second, so two claimers can never both act on one message and a
 * half-read file is impossible (files only appear in `requests/` whole). The pending listing is read once
 * and consumed from its head across calls (`ClaimCursor`): ids sort by send time, so the head is the oldest
 * message, and a long backlog costs one `readdir` per pass instead of one per message. A supervised
 * claimer stages its lease before the rename, so its claim is never anonymous (staged-lease.ts).
 */
import * as fs from "../fs-promised.ts";
import { dirname, join } from "node:path";
import { errnoCode, ioError } from "../protocol/errors.ts";
import { isId } from "../protocol/ids.ts";
import type { ChannelName } from "../protocol/names.ts";
import type { Claimed } from "../lifecycle/transport.ts";
import type { LeaseOwner } from "../lifecycle/records.ts";
import { type AnswerHook, readFinalAnswer } from "./answers.ts";
import { crashPoint } from "./faults.ts";
import { ensureSubdir, pathExists, syncDir, tryRename } from "./files.ts";
import { archive } from "./transitions.ts";
import type { Queue } from "./paths.ts";
import { readRequest, rejectFile } from "./read.ts";
import { requireQueue } from "./registry.ts";
import { discardStagedLease, type StagedLease, stageLease } from "./staged-lease.ts";

export interface ClaimOptions {
  sync: boolean;
  maxBytes: number;
  onAnswered?: AnswerHook | undefined;
  onRejected?: ((name: string, reason: string) => void) | undefined;
  /** Stage this owner's lease before each claim rename (see staged-lease.ts). */
  lease?: { owner: LeaseOwner; leaseS: number } | undefined;
}

/** A claim with the lease staged for it (to commit, or to discard if the claim is not handed out). */
export type StagedClaim = Claimed & { staged?: StagedLease | undefined };

/** The not-yet-tried part of the last `readdir` of one channel's `requests/`. */
/** How many names a cursor keeps from one listing: memory stays flat however deep the backlog is. */
export const CURSOR_SIZE = 2048;

/** The `k` smallest names, sorted (a full sort only when the listing is small). */
export function oldest(names: string[], k: number): string[] {
  if (names.length <= k * 2) return names.sort();
  const kept: string[] = [];
  for (const name of names) keepOldest(kept, name, k);
  return kept;
}

/**
 * The `k` oldest message names in a folder, streamed (opendir) rather than listed whole, so a listing of
 * 100 000 names never sits in memory at once.
 */
export async function oldestInDir(dir: string, k: number): Promise<string[]> {
  let handle;
  try {
    handle = await fs.opendir(dir, { bufferSize: 512 });
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw ioError(`cannot list ${dir}`, err);
  }
  // Read the listing in batches: readSync takes names from the Dir's buffer (one getdents(2) per 512),
  // and the loop yields to the event loop between batches. The async iterator cost a few promises per
  // name, which with 100 k names added ~13 MB to a watcher's peak memory (B10).
  const kept: string[] = [];
  try {
    for (;;) {
      for (let i = 0; i < 512; i++) {
        const entry = handle.readSync();
        if (entry === null) return kept;
        if (!entry.name.startsWith(".")) keepOldest(kept, entry.name, k);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    handle.closeSync();
  }
}

/** Binary insertion of `name` into the sorted `kept`, holding at most `k` names. */
function keepOldest(kept: string[], name: string, k: number): void {
  if (kept.length === k && name >= kept[k - 1]!) return;
  let lo = 0;
  let hi = kept.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (kept[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  kept.splice(lo, 0, name);
  if (kept.length > k) kept.pop();
}

export class ClaimCursor {
  private names: string[] = [];
  private next = 0;

  async take(requestsDir: string): Promise<string | undefined> {
    if (this.next >= this.names.length) {
      this.names = await oldestInDir(requestsDir, CURSOR_SIZE);
      this.next = 0;
    }
    return this.names[this.next++];
  }

  /** True when the next take will re-read the folder. */
  get exhausted(): boolean {
    return this.next >= this.names.length;
  }

  /** Forget the listing so the next take re-reads the folder (something new may be older). */
  reset(): void {
    this.names = [];
    this.next = 0;
  }
}

export async function claimNext(q: Queue, cursor: ClaimCursor, opts: ClaimOptions): Promise<StagedClaim | null> {
  const dir = q.dir;
  const requests = join(dir, "requests");
  for (;;) {
    // take() re-reads the folder when its listing is used up, so undefined means "empty right now".
    const name = await cursor.take(requests);
    if (name === undefined) {
      if (!(await pathExists(requests))) await requireQueue(q);
      return null;
    }
    const claimedPath = join(dir, "processing", name);
    const id = name.slice(0, -5);
    const staged =
      opts.lease && name.endsWith(".json") && isId(id)
        ? await stageLease(q, id, opts.lease.owner, opts.lease.leaseS)
        : undefined;
    if (!(await claimFile(join(requests, name), claimedPath))) {
      await discardStagedLease(staged); // another consumer won it
      continue;
    }
    if (opts.sync) await syncDir(join(dir, "processing"));
    crashPoint("claim:renamed");
    const claimed = await inspectClaimed(
      dir,
      q.channel,
      name,
      claimedPath,
      opts.maxBytes,
      opts.onAnswered,
      opts.onRejected,
    );
    if (claimed) return { ...claimed, staged };
    await discardStagedLease(staged);
  }
}

/** rename(2) into `processing/`; false when another consumer took the file first. */
async function claimFile(from: string, to: string): Promise<boolean> {
  if (await tryRename(from, to)) return true;
  if (!(await pathExists(from))) return false;
  // The source is still there, so the destination folder is missing (a hand-made channel): make it once.
  await ensureSubdir(dirname(to));
  return tryRename(from, to);
}

/** Validates a freshly claimed file; sets aside bad ones and retires already-answered ones. */
async function inspectClaimed(
  dir: string,
  channel: ChannelName,
  name: string,
  path: string,
  maxBytes: number,
  onAnswered: AnswerHook | undefined,
  onRejected: ClaimOptions["onRejected"],
): Promise<Claimed | null> {
  const id = name.endsWith(".json") ? name.slice(0, -5) : "";
  if (!isId(id)) {
    const reason = `file name '${name}' is not <id>.json with an id like req_<hex>`;
    await rejectFile(dir, path, reason, "requests");
    onRejected?.(name, reason);
    return null;
  }
  const parsed = await readRequest(path, maxBytes, id);
  if (!parsed.ok) {
    await rejectFile(dir, path, parsed.problem, "requests");
    onRejected?.(name, parsed.problem);
    return null;
  }
  const answer = await readFinalAnswer(dir, id, maxBytes);
  if (answer) {
    // Left by a respond that crashed between publishing the answer and archiving (lifecycle step 3).
    await onAnswered?.(parsed.value, answer, true);
    await archive({ channel, dir }, path, id);
    return null;
  }
  return { channel, message: parsed.value, path };
}
