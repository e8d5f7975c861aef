/**
 * Read-only views of the spool: counts, and finding one message in any state (listings: listing.ts).
 * Counting never parses files, so `status` stays fast on a deep backlog.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { idTime } from "../protocol/ids.ts";
import type { ChannelName, MessageId } from "../protocol/names.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { ChannelStatus, CountedState, FoundMessage, ListState } from "../lifecycle/transport.ts";
import { COUNTED_STATES, STATES, type StateName } from "../lifecycle/states.ts";
import { listDir, pathExists } from "./files.ts";
import { readLease } from "./lease.ts";
import { type Queue, queueOf } from "./paths.ts";
import { readNote, readRequest, readResponse } from "./read.ts";
import { countable, FOLDER, reasonPath } from "./listing.ts";
import { listChannels, listSubscribers, requireChannel } from "./registry.ts";

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

/** Looks for `id` in every state of one channel (or of all channels). */
export async function findMessage(
  home: string,
  id: MessageId,
  channel: ChannelName | undefined,
  maxBytes: number,
  safe: SafeQueue,
): Promise<FoundMessage> {
  const names = channel !== undefined ? [channel] : (await listChannels(home)).map((c) => c.name);
  if (channel !== undefined) await requireChannel(home, channel);
  for (const name of names) {
    const found = await findIn(await safe(queueOf(home, name)), id, maxBytes);
    if (found) return found;
  }
  // A topic message may live only in subscribers' copies.
  for (const name of names) {
    for (const sub of await listSubscribers(queueOf(home, name).dir)) {
      const found = await findIn(await safe(queueOf(home, name, sub)), id, maxBytes);
      if (found) return { ...found, subscriber: sub };
    }
  }
  throw new AbqError(
    "E_NO_MESSAGE",
    `no message ${id} in ${channel !== undefined ? `channel '${channel}'` : "any channel"}`,
    {
      hint: "list messages with: abq ls <channel> [state]",
    },
  );
}

/** The request's places, in lifecycle order: the first one found is its state. */
function requestPlaces(dir: string, id: string): Array<[string, StateName]> {
  return [
    [join(dir, "requests", `${id}.json`), "pending"],
    [join(dir, "delayed", `${id}.json`), "delayed"],
    [join(dir, "processing", `${id}.json`), "claimed"],
    [join(dir, "archive", `${id}_request.json`), "done"],
    [join(dir, "dead", `${id}.json`), "dead"],
    [join(dir, "expired", `${id}.json`), "expired"],
    [join(dir, "rejected", `${id}.json`), "rejected"],
  ];
}

async function findIn(q: Queue, id: string, maxBytes: number): Promise<FoundMessage | null> {
  const dir = q.dir;
  let request: Request | undefined;
  let state: StateName | undefined;
  const files: string[] = [];
  for (const [path, s] of requestPlaces(dir, id)) {
    if (!(await pathExists(path))) continue;
    files.push(path);
    state ??= s;
    const parsed = await readRequest(path, maxBytes).catch(() => undefined);
    if (parsed?.ok === true) request ??= parsed.value;
  }
  let response: Response | undefined;
  for (const path of [join(dir, "responses", `${id}.json`), join(dir, "archive", `${id}_response.json`)]) {
    if (!(await pathExists(path))) continue;
    files.push(path);
    const parsed = await readResponse(path, maxBytes).catch(() => undefined);
    if (parsed?.ok === true) response ??= parsed.value;
  }
  if (files.length === 0) return null;
  const final = response !== undefined && response.status !== "pending";
  // A final answer beside a request still claimed is a respond interrupted before archiving: answered.
  if (final && (state === undefined || state === "claimed")) state = "answered";
  const found: FoundMessage = { channel: q.channel, state: state ?? "answered", request, response, files };
  if (state === "claimed") found.lease = await readLease(q, id);
  const listed = STATES[found.state].listAs;
  const reason = listed !== undefined ? await readNote(reasonPath(q, listed, `${id}.json`, id)) : undefined;
  if (reason !== undefined) {
    found.reason = reason;
    // An archived request without an answer says why: acknowledged, or withdrawn (cancel, purge).
    if (found.state === "done" && !final)
      found.state = reason["state"] === "acknowledged" ? "acknowledged" : "withdrawn";
  }
  return found;
}
