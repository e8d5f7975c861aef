/**
 * Read-only views of the spool: counts, listings, and finding one message in any state. Counting never
 * parses files, and a listing reads only the files it prints, so `status` stays fast on a deep backlog.
 */
import * as fs from "../fsp.ts";
import { join } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { idTime, isId } from "../protocol/ids.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { ChannelStatus, FoundMessage, ListEntry, ListState } from "../transport.ts";
import { listDir, pathExists } from "./files.ts";
import { channelDir, type Queue, queueOf } from "./paths.ts";
import { readRequest, readResponse } from "./read.ts";
import { listChannels, requireChannel, requireQueue } from "./registry.ts";

const REASON_SUFFIX = ".reason.json";

/** Entries of a state folder that are messages (or message-like files), not our side files. */
function countable(state: ListState, names: string[]): string[] {
  return names.filter((n) => {
    if (n.startsWith(".")) return false;
    if (state === "rejected") return !n.endsWith(REASON_SUFFIX);
    if (state === "archive") return n.endsWith("_request.json");
    return true;
  });
}

export async function queueStatus(q: Queue): Promise<ChannelStatus> {
  const dir = q.dir;
  const [pending, processing, responses, archive, rejected] = await Promise.all(
    (["requests", "processing", "responses", "archive", "rejected"] as const).map(async (s) =>
      countable(s, await listDir(join(dir, s))),
    ),
  );
  return {
    name: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    pending: pending!.length,
    processing: processing!.length,
    responses: responses!.length,
    archived: archive!.length,
    rejected: rejected!.length,
    oldestPendingAgeMs: await oldestAge(join(dir, "requests"), pending!),
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
  const dir = q.dir;
  const names = countable(state, await listDir(join(dir, state))).sort();
  if (!opts.oldestFirst) names.reverse();
  const entries: ListEntry[] = [];
  for (const file of names.slice(0, Math.max(0, opts.limit))) {
    const path = join(dir, state, file);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st) continue; // claimed or moved while we listed
    const isResponse = state === "responses" || file.endsWith("_response.json");
    const parsed = await (isResponse ? readResponse(path, opts.maxBytes) : readRequest(path, opts.maxBytes)).catch(
      (err: unknown) => ({ ok: false as const, problem: errnoCode(err) ?? String(err) }),
    );
    entries.push({
      id: file.replace(/(_request|_response)?\.json$/, ""),
      state,
      file: path,
      message: parsed.ok ? parsed.value : undefined,
      problem: parsed.ok ? undefined : parsed.problem,
      mtimeMs: st.mtimeMs,
    });
  }
  return entries;
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
    const found = await findIn(channelDir(home, name), name, id, maxBytes);
    if (found) return found;
  }
  // A topic message may live only in subscribers' copies.
  for (const name of names) {
    for (const sub of await listDir(join(channelDir(home, name), "subscribers"))) {
      const found = await findIn(queueOf(home, name, sub).dir, name, id, maxBytes);
      if (found) return { ...found, subscriber: sub };
    }
  }
  throw new AbqError(
    "E_NO_MESSAGE",
    `no message ${id} in ${channel !== undefined ? `channel '${channel}'` : "any channel"}`,
    {
      hint: "list messages with: abq ls <channel> [requests|processing|archive]",
    },
  );
}

async function findIn(dir: string, channel: string, id: string, maxBytes: number): Promise<FoundMessage | null> {
  const places: Array<[string, FoundMessage["state"]]> = [
    [join(dir, "requests", `${id}.json`), "pending"],
    [join(dir, "processing", `${id}.json`), "claimed"],
    [join(dir, "archive", `${id}_request.json`), "done"],
    [join(dir, "rejected", `${id}.json`), "rejected"],
  ];
  let request: Request | undefined;
  let state: FoundMessage["state"] | undefined;
  const files: string[] = [];
  for (const [path, s] of places) {
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
  if (response && response.status !== "pending" && (state === undefined || state === "claimed")) state = "answered";
  return { channel, state: state ?? "answered", request, response, files };
}
