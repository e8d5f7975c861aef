/**
 * Counting a queue's states (`abq status`), and the rules every listing shares: which folder holds a
 * state and which of its entries are messages. Counting never opens a message, so it needs no schema:
 * this module and its imports stay free of zod and the core, and the CLI counts from the small `fast`
 * chunk (src/spool/status-plain.ts, scripts/bundle.mjs); the transport's status() is the same code.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { idTime } from "../protocol/ids.ts";
import type { ChannelStatus, CountedState, ListState } from "../lifecycle/transport.ts";
import { COUNTED_STATES } from "../lifecycle/states.ts";
import { listDir } from "./files.ts";
import { type Queue, queueOf, RETRY_PREFIX } from "./paths.ts";
import { listChannels } from "./registry.ts";

/** The name ending of the file that says why a message is dead, expired or rejected. */
export const REASON_SUFFIX = ".reason.json";

/** The folder each listable state lives in (`expired` and `dead` have their own since 2026). */
export const FOLDER: Record<ListState, string> = {
  requests: "requests",
  delayed: "delayed",
  processing: "processing",
  responses: "responses",
  archive: "archive",
  dead: "dead",
  expired: "expired",
  rejected: "rejected",
  late: "late",
};

/**
 * Entries of a state folder that are messages (or message-like files), not our side files. A claim
 * being released, retried or terminated (lifecycle step 6, a dot-name) is still claimed until it moves on.
 */
export function countable(state: ListState, names: string[]): string[] {
  // Hot on deep backlogs (status with 100 000 pending): one test per name where the state needs none.
  if (state === "processing") return names.filter((n) => n.startsWith(RETRY_PREFIX) || !n.startsWith("."));
  if (state === "archive") return names.filter((n) => !n.startsWith(".") && n.endsWith("_request.json"));
  if (state === "dead" || state === "expired" || state === "rejected") {
    return names.filter((n) => !n.startsWith(".") && !n.endsWith(REASON_SUFFIX));
  }
  return names.filter((n) => !n.startsWith("."));
}

/** The folder state counted by each `status` column (the dashboard's live counts use it too). */
export const COUNTED_FOLDER: Record<CountedState, ListState> = {
  pending: "requests",
  delayed: "delayed",
  processing: "processing",
  responses: "responses",
  archived: "archive",
  dead: "dead",
  expired: "expired",
  rejected: "rejected",
  late: "late",
};

export async function queueStatus(q: Queue): Promise<ChannelStatus> {
  const names = await Promise.all(
    COUNTED_STATES.map(async (c) =>
      countable(COUNTED_FOLDER[c], await listDir(join(q.dir, FOLDER[COUNTED_FOLDER[c]]))),
    ),
  );
  const counts = Object.fromEntries(COUNTED_STATES.map((c, i) => [c, names[i]!.length])) as Record<
    CountedState,
    number
  >;
  return {
    name: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    ...counts,
    oldest_pending_age_ms: await oldestAge(join(q.dir, "requests"), names[0]!),
  };
}

/**
 * Age of the oldest pending file. Ids sort by send time, so the smallest id-named file is the oldest:
 * one string comparison per name, then one id decode (no I/O). Files not named like ids count by mtime.
 */
async function oldestAge(dir: string, names: string[]): Promise<number | null> {
  if (names.length === 0) return null;
  let first: string | undefined;
  const odd: string[] = [];
  for (const name of names) {
    if (name.startsWith("req_") && name.endsWith(".json")) {
      if (first === undefined || name < first) first = name;
    } else odd.push(name);
  }
  let oldest =
    first !== undefined ? (idTime(first.slice(0, -5)) ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
  for (const name of odd) {
    const st = await fs.stat(join(dir, name)).catch(() => undefined);
    if (st) oldest = Math.min(oldest, st.mtimeMs);
  }
  return Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : null;
}

/** Checks a queue's folders before they are read (the transport's safety check, safety.ts). */
export type SafeQueue = (q: Queue) => Promise<Queue>;

export async function statusAll(home: string, safe: SafeQueue): Promise<ChannelStatus[]> {
  const rows: ChannelStatus[] = [];
  for (const channel of await listChannels(home)) {
    rows.push(await queueStatus(await safe(queueOf(home, channel.name))));
    for (const sub of channel.subscribers ?? [])
      rows.push(await queueStatus(await safe(queueOf(home, channel.name, sub))));
  }
  return rows;
}
