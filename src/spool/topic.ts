/**
 * Topic channels: every named subscriber gets its own copy of every message published after it
 * subscribed; anonymous consumers still compete for one shared copy (the seed's behaviour).
 *
 * Layout: `channels/<topic>/subscribers/<name>/` is a full queue (requests/, processing/, …) plus
 * `subscriber.json`. Publishing is:
 *
 * 1. stage the message in `tmp/`, fsync, rename to `fanout/<id>.json` — the commit point;
 * 2. copy it into `subscribers/<s>/requests/<id>.json` for every subscriber that subscribed before the
 *    message was sent (the time in its id): a reflink or real copy staged in the subscriber's `tmp/`, then
 *    link(2)ed into place, which refuses to overwrite, so repeating this step never makes a second copy
 *    (copy.ts);
 * 3. rename `fanout/<id>.json` to the topic's own `requests/<id>.json` (the anonymous copy); an empty
 *    `fanout/` means every fan-out finished.
 *
 * A publisher killed during step 2 leaves its message in `fanout/` (and perhaps a staged copy in a
 * subscriber's `tmp/`, reaped by sweep like any staging leftover). `finishFanouts` (run by subscribe, by
 * subscribers' claims and by the next publish) completes it: a subscriber gets the message unless it
 * already has it in any state, checked in lifecycle order so a copy moving forward meanwhile is seen.
 * Every copy is its own read-only inode (0400, 0440 on group channels): a handler that writes to its file
 * anyway (root ignores the mode) changes only its own copy, never another subscriber's or the shared one.
 */
import * as fs from "../fs-promised.ts";
import { dirname, join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { idTime } from "../protocol/ids.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";
import type { Request } from "../protocol/schema.ts";
import { serialize } from "./deliver.ts";
import { crashPoint } from "./faults.ts";
import { copyNoReplace } from "./copy.ts";
import { ensureSubdir, fileModeNow, listDir, pathExists, stagingPath, syncDir, writeNewFile } from "./files.ts";
import { EXTRA_DIRS, type Queue, queueOf, STATE_DIRS } from "./paths.ts";
import { listSubscribers, requireQueue } from "./registry.ts";
import { eachInPool } from "./pool.ts";

/** Fan-outs younger than this are left to their (probably live) publisher. */
const STALE_FANOUT_MS = 2000;
/** Subscribers a fan-out copies to at once. */
const FANOUT_PARALLEL = 8;

interface SubscriberRecord {
  name: string;
  subscribed_at: string;
  since_ms: number;
}

export async function subscribe(home: string, topic: ChannelName, name: SubscriberName): Promise<{ created: boolean }> {
  const q = queueOf(home, topic, name);
  const record = join(q.dir, "subscriber.json");
  if (await pathExists(record)) return { created: false };
  // One level at a time, inside the topic's folder: an unsubscribe or `channel rm` racing us must not
  // leave a half-made queue behind.
  await ensureSubdir(dirname(q.dir));
  await ensureSubdir(q.dir);
  for (const sub of [...STATE_DIRS, ...EXTRA_DIRS]) await ensureSubdir(join(q.dir, sub));
  const now = Date.now();
  const data: SubscriberRecord = { name, subscribed_at: new Date(now).toISOString(), since_ms: now };
  // O_EXCL: of two racing subscribes, the first record stands and keeps the earlier start.
  await writeNewFile(record, `${JSON.stringify(data, null, 2)}\n`, false).catch((err: unknown) => {
    if (errnoCode(err) !== "EEXIST") throw ioError(`cannot subscribe ${name}`, err);
  });
  await finishFanouts(home, topic);
  return { created: true };
}

export async function unsubscribe(home: string, topic: ChannelName, name: SubscriberName): Promise<void> {
  const q = queueOf(home, topic, name);
  await requireQueue(q);
  const doomed = join(q.dir, "..", `.removing-${name}-${process.pid}-${Date.now()}`);
  await fs.rename(q.dir, doomed);
  await fs.rm(doomed, { recursive: true, force: true });
}

export async function publish(home: string, topic: Queue, message: Request, sync: boolean): Promise<Request> {
  await requireQueue(topic);
  const fanout = join(topic.dir, "fanout");
  await ensureSubdir(fanout);
  const tmp = join(topic.dir, "tmp");
  const staged = stagingPath(tmp, `${message.id}.json`);
  await writeNewFile(staged, serialize(message), sync);
  const mode = readOnly(fileModeNow(tmp));
  await fs.chmod(staged, mode);
  const committed = join(fanout, `${message.id}.json`);
  await fs.rename(staged, committed);
  if (sync) await syncDir(fanout);
  crashPoint("publish:committed");
  await fanOut(home, topic, committed, mode, idTime(message.id) ?? Date.now(), false, sync);
  await finishFanouts(home, topic.channel);
  return message;
}

/** Completes fan-outs that a crashed publisher left in `fanout/`. Safe to run concurrently and repeatedly. */
export async function finishFanouts(home: string, topic: ChannelName, minAgeMs = STALE_FANOUT_MS): Promise<number> {
  const q = queueOf(home, topic);
  let finished = 0;
  for (const name of await listDir(join(q.dir, "fanout"))) {
    const path = join(q.dir, "fanout", name);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < minAgeMs) continue;
    // Who gets it is decided by the message's send time (from its id), not the file's mtime, which a
    // skewed NFS clock or a restored backup can move.
    await fanOut(home, q, path, st.mode & 0o7777, idTime(name.replace(/\.json$/, "")) ?? st.mtimeMs, true, false);
    finished++;
  }
  return finished;
}

async function fanOut(
  home: string,
  topic: Queue,
  committed: string,
  committedMode: number,
  committedAt: number,
  recovering: boolean,
  sync: boolean,
): Promise<void> {
  const file = committed.slice(committed.lastIndexOf("/") + 1);
  const names = await listSubscribers(topic.dir);
  const copyFor = async (name: SubscriberName): Promise<void> => {
    const sub = queueOf(home, topic.channel, name);
    const since = await readSince(sub.dir);
    if (since === undefined || since > committedAt) return; // subscribed after the message was published
    if (recovering && (await hasCopy(sub.dir, file))) return;
    try {
      await copyTo(sub, committed, file, committedMode, sync);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "E_NO_CHANNEL") return; // subscriber or message gone
      throw ioError(`cannot copy ${file} to subscriber ${name}`, err);
    }
  };
  // A few subscribers at a time: their copies' fsyncs overlap (one journal commit can cover several),
  // while the files held open stay few however many subscribers there are. Each subscriber's step stands
  // alone, so the order does not matter; after a failure no new one starts, and the message stays in
  // fanout/ for recovery.
  await eachInPool(names, FANOUT_PARALLEL, copyFor);
  try {
    await fs.rename(committed, join(topic.dir, "requests", file));
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw ioError(`cannot finish publishing ${file}`, err);
  }
}

/** One subscriber's own copy of `committed`, unless it already has one in `requests/`. */
async function copyTo(sub: Queue, committed: string, file: string, srcMode: number, sync: boolean): Promise<void> {
  const tmp = join(sub.dir, "tmp");
  const target = join(sub.dir, "requests", file);
  const opts = { mode: readOnly(fileModeNow(tmp)), srcMode, sync };
  let placed: boolean;
  try {
    placed = await copyNoReplace(committed, tmp, target, opts);
  } catch (err) {
    // A subscriber queue made without tmp/ (by hand, or by an older abq): make it, but only while the
    // queue and the message both still exist, so an unsubscribe or a finished fan-out stays a skip.
    if (errnoCode(err) !== "ENOENT" || !(await pathExists(committed)) || !(await pathExists(sub.dir))) throw err;
    await ensureSubdir(tmp);
    placed = await copyNoReplace(committed, tmp, target, opts);
  }
  if (placed && sync) await syncDir(join(sub.dir, "requests"));
}

/** Message files are never rewritten: a topic's copies are published read-only (0400, or 0440 for a group). */
function readOnly(mode: number): number {
  return mode & 0o444;
}

async function readSince(subDir: string): Promise<number | undefined> {
  try {
    const rec = JSON.parse(await fs.readFile(join(subDir, "subscriber.json"), "utf8")) as Partial<SubscriberRecord>;
    return typeof rec.since_ms === "number" ? rec.since_ms : undefined;
  } catch {
    return undefined; // not (yet) a complete subscription
  }
}

/** Does the subscriber have this message in any state? Checked in lifecycle order (see header). */
async function hasCopy(subDir: string, file: string): Promise<boolean> {
  const id = file.replace(/\.json$/, "");
  for (const path of [
    join(subDir, "requests", file),
    join(subDir, "processing", file),
    join(subDir, "responses", file),
    join(subDir, "archive", `${id}_request.json`),
    join(subDir, "rejected", file),
  ]) {
    if (await pathExists(path)) return true;
  }
  return false;
}

export function notATopic(channel: string): AbqError {
  return new AbqError("E_USAGE", `channel '${channel}' is a queue, not a topic: it has no subscribers`, {
    hint: `topics are made with: abq channel create <name> --topic`,
  });
}
