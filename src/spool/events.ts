/**
 * The per-channel lifecycle log: `channels/<name>/events.jsonl`, one JSON object per line, appended with
 * O_APPEND (a line under 4 KiB lands whole even with many writers). `abq trace <id>` reads it back. The
 * sweep rotates it to `events.1.jsonl` past 4 MiB, so at most two files (~8 MiB) are kept.
 */
import { appendFileSync } from "node:fs";
import * as fs from "../fs-promised.ts";

import { join } from "node:path";
import { fileModeNow } from "./files.ts";
import type { Queue } from "./paths.ts";

import type { EventKind, LifecycleEvent } from "../lifecycle/records.ts";

export const EVENTS_FILE = "events.jsonl";
export const EVENTS_MAX_BYTES = 4 * 1024 * 1024;

function logDir(q: Queue): string {
  return q.subscriber === undefined ? q.dir : join(q.dir, "..", "..");
}

/** What one event says, beside its time, pid and queue. */
export interface EventEntry {
  event: EventKind;
  id: string;
  actor: string;
  attempt?: number | undefined;
  detail?: string | undefined;
}

function eventLine(q: Queue, e: EventEntry, at: string): string {
  const record: LifecycleEvent = {
    at,
    event: e.event,
    id: e.id,
    actor: e.actor,
    pid: process.pid,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
    ...(e.detail !== undefined ? { detail: e.detail.slice(0, 1000) } : {}),
  };
  return `${JSON.stringify(record)}\n`;
}

/**
 * Appends one event. Logging never fails the operation it describes. Synchronous, like the staging of a
 * message file (files.ts): an append of one short line is microseconds in the page cache, where the
 * asynchronous form cost four thread-pool round trips (a stat for the mode, open, write, close), and a
 * send → claim → respond cycle logs three events (docs/performance.md, B3). Never fsynced: the log
 * describes transitions, it is not one of them.
 */
export function logEvent(
  q: Queue,
  event: EventKind,
  id: string,
  actor: string,
  extra: { attempt?: number | undefined; detail?: string | undefined } = {},
): void {
  logEventsSync(q, [{ event, id, actor, ...extra }]);
}

/**
 * Appends the events of one slice of a bulk operation in one write (synchronous: one append, not a
 * thread-pool round trip per message). With O_APPEND the whole write lands at the end of the file in
 * one piece, so other writers' lines never land inside it. Logging never fails the operation.
 */
export function logEventsSync(q: Queue, entries: readonly EventEntry[]): void {
  if (entries.length === 0) return;
  const at = new Date().toISOString();
  const text = entries.map((e) => eventLine(q, e, at)).join("");
  try {
    appendFileSync(join(logDir(q), EVENTS_FILE), text, { mode: fileModeNow(logDir(q)) });
  } catch {
    // as logEvent: the log is a record of the work, never a reason to stop it
  }
}

/** Every event about `id` in one channel, oldest first. */
export async function traceEvents(channelPath: string, id: string): Promise<LifecycleEvent[]> {
  const out: LifecycleEvent[] = [];
  for (const file of ["events.1.jsonl", EVENTS_FILE]) {
    const text = await fs.readFile(join(channelPath, file), "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.includes(id)) continue;
      try {
        const e = JSON.parse(line) as LifecycleEvent & { t?: string };
        if (e.id !== id) continue;
        if (e.at === undefined && e.t !== undefined) {
          const { t, ...rest } = e; // a log from before the key was renamed
          out.push({ ...rest, at: t });
        } else out.push(e);
      } catch {
        // a torn last line from a crashed writer: skip it
      }
    }
  }
  return out;
}

/** Keeps the log bounded: past the cap, the current file becomes `events.1.jsonl` (replacing the older). */
export async function rotateEvents(channelPath: string): Promise<boolean> {
  const file = join(channelPath, EVENTS_FILE);
  const st = await fs.stat(file).catch(() => undefined);
  if (!st || st.size <= EVENTS_MAX_BYTES) return false;
  await fs.rename(file, join(channelPath, "events.1.jsonl")).catch(() => undefined);
  return true;
}
