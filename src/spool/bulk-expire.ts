/**
 * Pending messages past their TTL → `expired/` with their reason, in bulk: the sweep's step 4
 * (`expirePending`), and a claimer that meets a run of expired messages at the head of the queue
 * (`expireHead`), which would otherwise claim, read and set aside each one in turn.
 *
 * A slice at a time: each file read and moved synchronously (bulk-files.ts says why), `expired/` fsynced
 * once per slice, then the slice's events appended in one write and its ids reported. Each move is the
 * rename expire() makes, straight from `requests/`, so a claimer racing it gets the message or this
 * does, never both. A crash anywhere leaves each message pending, or expired (perhaps without its
 * reason file, as a crash inside expire() does); a later sweep or claim finishes the rest.
 */
import { join } from "node:path";
import type { Request } from "../protocol/schema.ts";
import { logEventsSync, type EventEntry } from "./events.ts";
import { ensureSubdir, listDir, fileModeNow } from "./files.ts";
import { BULK_SLICE, nextSlice, syncDirs } from "./bulk-files.ts";
import { expireSync } from "./bulk-transitions.ts";
import { oldestInDir } from "./claim.ts";
import type { Queue } from "./paths.ts";
import { parseRequest } from "./read.ts";
import { scanFile } from "./scan.ts";

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ExpireOptions {
  sync: boolean;
  dryRun: boolean;
  /** leased-work.ts's isExpired, given by the caller (the clock it reads is the caller's). */
  isExpired: (m: Request) => boolean;
}

/** Moves every pending message of `q` past its TTL to `expired/`; returns their ids. */
export async function expirePending(q: Queue, actor: string, opts: ExpireOptions): Promise<string[]> {
  const names = (await listDir(join(q.dir, "requests"))).filter((name) => !name.startsWith(".")).sort();
  return (await expireNames(q, names, actor, opts, false)).ids;
}

/**
 * Moves the expired messages at the head of `q` (the oldest, up to the first live one) to `expired/`;
 * returns their ids. Listed a window at a time, so a live head costs one listing and one read.
 */
export async function expireHead(q: Queue, actor: string, opts: Omit<ExpireOptions, "dryRun">): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const names = await oldestInDir(join(q.dir, "requests"), 2048);
    const done = await expireNames(q, names, actor, { ...opts, dryRun: false }, true);
    ids.push(...done.ids);
    if (done.stopped || done.ids.length === 0) return ids;
  }
}

async function expireNames(
  q: Queue,
  names: readonly string[],
  actor: string,
  opts: ExpireOptions,
  stopAtLive: boolean,
): Promise<{ ids: string[]; stopped: boolean }> {
  const expired: string[] = [];
  const dir = join(q.dir, "expired");
  let made = false;
  for (let i = 0; i < names.length; i += BULK_SLICE) {
    if (i > 0) await nextSlice();
    const events: EventEntry[] = [];
    const ids: string[] = [];
    let mode: number | undefined;
    let stopped = false;
    for (const name of names.slice(i, i + BULK_SLICE)) {
      const read = scanFile(join(q.dir, "requests", name), MAX_MESSAGE_BYTES);
      if (read === undefined) continue; // gone: claimed or moved since the listing
      const parsed = read.ok ? parseRequest(read.text) : undefined;
      // Not a message (the claim sets it aside with its reason), or live: the head ends here.
      if (parsed?.ok !== true || !opts.isExpired(parsed.value)) {
        stopped = stopAtLive;
        if (stopped) break;
        continue;
      }
      const m = parsed.value;
      if (opts.dryRun) {
        ids.push(m.id);
        continue;
      }
      if (!made) await ensureSubdir(dir); // once per run, not a failed mkdir per message
      made = true;
      mode ??= fileModeNow(dir);
      const moved = expireSync(q, join(q.dir, "requests", name), m, actor, mode);
      if (moved) events.push({ event: "expired", id: m.id, actor, detail: `ttl ${m.ttl}s from ${m.timestamp}` });
      // The sweep reports one another process moved first too, as it always did: it is expired.
      if (moved || !stopAtLive) ids.push(m.id);
    }
    if (opts.sync && events.length > 0) await syncDirs([dir]);
    logEventsSync(q, events);
    expired.push(...ids);
    if (stopped) return { ids: expired, stopped };
  }
  return { ids: expired, stopped: false };
}
