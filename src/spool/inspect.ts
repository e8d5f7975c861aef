/**
 * Read-only views of the spool: counts, listings, and finding one message in any state. Counting never
 * parses files, and a listing reads only the files it prints, so `status` stays fast on a deep backlog.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { idTime, isId } from "../protocol/ids.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { ChannelStatus, CountedState, FoundMessage, ListEntry, ListState } from "../lifecycle/transport.ts";
import { COUNTED_STATES, STATES, type StateName } from "../lifecycle/states.ts";
import { listDir, pathExists, readBounded } from "./files.ts";
import { readLease } from "./lease.ts";
import { type Queue, queueOf } from "./paths.ts";
import { readRequest, readResponse } from "./read.ts";
import { listChannels, requireChannel, requireQueue } from "./registry.ts";

const REASON_SUFFIX = ".reason.json";

/** The folder each listable state lives in (`expired` and `dead` have their own since 2026). */
const FOLDER: Record<ListState, string> = {
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

/** The folder counted by each `status` column. */
const COUNTED_FOLDER: Record<CountedState, ListState> = {
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

/** Entries of a state folder that are messages (or message-like files), not our side files. */
function countable(state: ListState, names: string[]): string[] {
  return names.filter((n) => {
    if (n.startsWith(".")) return false;
    if (state === "archive") return n.endsWith("_request.json");
    return !n.endsWith(REASON_SUFFIX);
  });
}

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
    oldestPendingAgeMs: await oldestAge(join(q.dir, "requests"), names[0]!),
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

export async function statusAll(home: string): Promise<ChannelStatus[]> {
  const rows: ChannelStatus[] = [];
  for (const channel of await listChannels(home)) {
    rows.push(await queueStatus(queueOf(home, channel.name)));
    for (const sub of channel.subscribers ?? []) rows.push(await queueStatus(queueOf(home, channel.name, sub)));
  }
  return rows;
}

export async function countState(q: Queue, state: ListState): Promise<number> {
  await requireQueue(q);
  const dir = q.dir;
  return countable(state, await listDir(join(dir, state))).length;
}

export async function listState(
  q: Queue,
  state: ListState,
  opts: { limit: number; oldestFirst: boolean; maxBytes: number },
): Promise<ListEntry[]> {
  await requireQueue(q);
  const names = countable(state, await listDir(join(q.dir, FOLDER[state]))).sort();
  if (!opts.oldestFirst) names.reverse();
  const entries: ListEntry[] = [];
  for (const file of names.slice(0, Math.max(0, opts.limit))) {
    const path = join(q.dir, FOLDER[state], file);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st) continue; // claimed or moved while we listed
    const isResponse = state === "responses" || state === "late" || file.endsWith("_response.json");
    const parsed = await (isResponse ? readResponse(path, opts.maxBytes) : readRequest(path, opts.maxBytes)).catch(
      (err: unknown) => ({ ok: false as const, problem: errnoCode(err) ?? String(err) }),
    );
    const id = state === "late" ? file.split(".")[0]! : file.replace(/(_request|_response)?\.json$/, "");
    const reason = await readReason(reasonPath(q, state, file, id));
    entries.push({
      id,
      state,
      file: path,
      message: parsed.ok ? parsed.value : undefined,
      problem: parsed.ok ? undefined : parsed.problem,
      ...(reason !== undefined ? { reason } : {}),
      mtimeMs: st.mtimeMs,
    });
  }
  return entries;
}

/** Where the reason for a file in `state` is kept, if that state keeps one. */
function reasonPath(q: Queue, state: ListState, file: string, id: string): string | undefined {
  if (state === "dead" || state === "expired") return join(q.dir, state, `${id}${REASON_SUFFIX}`);
  if (state === "rejected") return join(q.dir, "rejected", `${file}${REASON_SUFFIX}`);
  if (state === "archive") return join(q.dir, "archive", `${id}_reason.json`);
  return undefined;
}

async function readReason(path: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (path === undefined) return undefined;
  const text = await readBounded(path, 65536).catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Looks for `id` in every state of one channel (or of all channels). */
export async function findMessage(
  home: string,
  id: string,
  channel: string | undefined,
  maxBytes: number,
): Promise<FoundMessage> {
  if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
  const names = channel !== undefined ? [channel] : (await listChannels(home)).map((c) => c.name);
  if (channel !== undefined) await requireChannel(home, channel);
  for (const name of names) {
    const found = await findIn(queueOf(home, name), id, maxBytes);
    if (found) return found;
  }
  // A topic message may live only in subscribers' copies.
  for (const name of names) {
    for (const sub of await listDir(join(queueOf(home, name).dir, "subscribers"))) {
      const found = await findIn(queueOf(home, name, sub), id, maxBytes);
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
  const reason = listed !== undefined ? await readReason(reasonPath(q, listed, `${id}.json`, id)) : undefined;
  if (reason !== undefined) {
    found.reason = reason;
    // An archived request without an answer says why: acknowledged, or withdrawn (cancel, purge).
    if (found.state === "done" && !final)
      found.state = reason["state"] === "acknowledged" ? "acknowledged" : "withdrawn";
  }
  return found;
}
