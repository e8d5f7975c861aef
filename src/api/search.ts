/**
 * Search: the call behind `abq search` and the `abq_search` MCP tool. Finds messages by sender, channel,
 * send time, text and thread among the pending, delayed, claimed and archived (done) requests of every
 * channel's shared queue, newest first. An archived message's answer is searched too.
 *
 * Cost: there is no index. Like `thread`, it reads every request of every state it searches (each file
 * once), and an archived one's answer only when the text filter needs it or the message matched:
 * linear in the size of the bus, with synchronous reads in slices (src/spool/scan.ts).
 * bench/search.mjs measures it on 100 000 archived messages (B12); at a few µs a file no index is needed.
 */
import { isAbsolute, sep } from "node:path";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import { channelName, messageId } from "../protocol/names.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { capable, type Inspection, type ListEntry, type ListState, type Transport } from "../lifecycle/transport.ts";
import type { StateName } from "../lifecycle/states.ts";
import { isAddress, resolveAddress } from "../identity/address.ts";
import { scanFinalAnswer, sliceCounter } from "../spool/scan.ts";
import { resolveMaxBytes } from "../spool/files.ts";
import { type CommonOptions, withCapable } from "./options.ts";
import { eachRequest } from "./thread.ts";

export const SEARCH_LIMIT = 50;
export const MAX_SEARCH_LIMIT = 1000;

export interface SearchOptions extends CommonOptions {
  /** The sender's identity, whole or a suffix of whole segments (`api/main`). */
  from?: string | undefined;
  /** One channel, or an inbox by address (`@self`, `@parent`, an agent's name or unique suffix). */
  channel?: string | undefined;
  /** Sent at or after: a Date, an ISO time, or a number of milliseconds ago. */
  since?: Date | string | number | undefined;
  /** A case-insensitive substring of the content, or of the answer's result or error. */
  text?: string | undefined;
  /** A thread id: its root message and every message naming it. */
  thread?: string | undefined;
  /** Most matches returned, newest first: 1 to 1000, default 50. */
  limit?: number | undefined;
}

/** One message found, where it is and how it stands. */
export interface SearchMatch {
  channel: string;
  state: StateName;
  request: Request;
  /** Its final answer, when it has one. */
  response?: Response | undefined;
}

/** Where search looks, and the state each folder means. */
const SEARCHED: ReadonlyArray<readonly [ListState, StateName]> = [
  ["requests", "pending"],
  ["delayed", "delayed"],
  ["processing", "claimed"],
  ["archive", "done"],
];

interface Filters {
  from?: string | undefined;
  sinceMs?: number | undefined;
  text?: string | undefined;
  thread?: string | undefined;
}

/** Messages matching every filter given, newest first. E_USAGE without a filter or with a bad one. */
export async function search(opts: SearchOptions): Promise<SearchMatch[]> {
  const filters = parseFilters(opts);
  const limit = opts.limit ?? SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw new AbqError("E_USAGE", `limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
  }
  const channel = opts.channel !== undefined ? channelName(await resolveAddress(opts.channel, opts)) : undefined;
  return withCapable(opts, "inspect", async (t) => {
    if (channel !== undefined && !(await exists(t, channel))) {
      if (isAddress(opts.channel ?? "")) return []; // an inbox nobody has written to yet: empty
      throw new AbqError("E_NO_CHANNEL", `no channel '${channel}'`, { hint: "list channels with: abq channel list" });
    }
    const found: Array<{ channel: string; state: StateName; request: Request; entry: ListEntry; at: number }> = [];
    await eachRequest(
      t,
      SEARCHED.map(([s]) => s),
      (name, request, entry) => {
        if (!matchesRequest(request, filters)) return;
        found.push({ channel: name, state: stateOf(entry), request, entry, at: sendTime(request) });
      },
      channel !== undefined ? [channel] : undefined,
    );
    // Send times parsed once each: parsing them in the comparator cost seconds on 100 000 matches.
    found.sort((a, b) => b.at - a.at || (a.request.id < b.request.id ? 1 : -1));
    const matches: SearchMatch[] = [];
    const slice = sliceCounter();
    for (const f of found) {
      if (matches.length >= limit) break;
      if (slice.due()) await slice.yield();
      const text = filters.text;
      const contentHit = text === undefined || contains(f.request.content, text);
      const mayHold = contentHit ? undefined : rawMayContain(text);
      const response = f.entry.state === "archive" ? await answerOf(t, f.channel, f.entry, mayHold) : undefined;
      if (!contentHit && !answerContains(response, text)) continue;
      matches.push({ channel: f.channel, state: f.state, request: f.request, ...(response ? { response } : {}) });
    }
    return matches;
  });
}

function parseFilters(opts: SearchOptions): Filters {
  const given = [opts.from, opts.channel, opts.since, opts.text, opts.thread].filter((v) => v !== undefined);
  if (given.length === 0) {
    throw new AbqError("E_USAGE", "give at least one filter: from, channel, since, text or thread");
  }
  for (const [name, value] of [
    ["from", opts.from],
    ["channel", opts.channel],
    ["text", opts.text],
  ] as const) {
    if (value !== undefined && value === "") throw new AbqError("E_USAGE", `${name} must not be empty`);
  }
  return {
    from: opts.from,
    sinceMs: opts.since !== undefined ? sinceTime(opts.since) : undefined,
    text: opts.text?.toLowerCase(),
    thread: opts.thread !== undefined ? messageId(opts.thread) : undefined,
  };
}

/** `since` as epoch milliseconds: a number is milliseconds ago. */
function sinceTime(since: Date | string | number): number {
  const ms =
    typeof since === "number"
      ? since >= 0
        ? Date.now() - since
        : Number.NaN
      : since instanceof Date
        ? since.getTime()
        : Date.parse(since);
  if (!Number.isFinite(ms)) {
    throw new AbqError("E_USAGE", `since: '${String(since)}' is not a time (an ISO time, or a duration ago)`);
  }
  return ms;
}

/** Every filter but the answer's text (read only for messages that pass the rest). */
function matchesRequest(r: Request, f: Filters): boolean {
  if (f.thread !== undefined && r.id !== f.thread && r.thread !== f.thread) return false;
  if (f.from !== undefined && r.from.agent !== f.from && !r.from.agent.endsWith(`/${f.from}`)) return false;
  if (f.sinceMs !== undefined && sendTime(r) < f.sinceMs) return false;
  return true; // the text may match the content or, for an archived message, its answer
}

function contains(haystack: string | null | undefined, lowered: string): boolean {
  return typeof haystack === "string" && haystack.toLowerCase().includes(lowered);
}

/**
 * A quick test on an answer file's raw JSON that is false only when its decoded text cannot contain
 * `lowered`: most answers fail it and are never parsed. Only for needles JSON writes as they are
 * (printable ASCII without quote or backslash), and never for a file with \u escapes (seed writers
 * escape every non-ASCII character; anyone may escape more).
 */
function rawMayContain(lowered: string | undefined): ((raw: string) => boolean) | undefined {
  if (lowered === undefined || !/^[\x20-\x7e]+$/.test(lowered) || /["\\]/.test(lowered)) return undefined;
  return (raw) => raw.includes("\\u") || raw.toLowerCase().includes(lowered);
}

function answerContains(r: Response | undefined, lowered: string | undefined): boolean {
  if (lowered === undefined) return true;
  return r !== undefined && (contains(r.result, lowered) || contains(r.error, lowered));
}

/** done, or acknowledged / withdrawn when the archive keeps a reason instead of an answer. */
function stateOf(e: ListEntry): StateName {
  const state = SEARCHED.find(([s]) => s === e.state)?.[1] ?? "done";
  if (state !== "done" || e.reason === undefined) return state;
  return e.reason["state"] === "acknowledged" ? "acknowledged" : "withdrawn";
}

/** An archived message's final answer: read beside it on the spool, else through the transport. */
async function answerOf(
  t: Transport & Inspection,
  channel: string,
  e: ListEntry,
  mayHold?: (raw: string) => boolean,
): Promise<Response | undefined> {
  const tail = `${sep}archive${sep}${e.id}_request.json`;
  if (isAbsolute(e.file) && e.file.endsWith(tail)) {
    const dir = e.file.slice(0, -tail.length);
    try {
      return scanFinalAnswer(dir, e.id, resolveMaxBytes(), mayHold);
    } catch {
      return undefined; // unreadable: the request still matched on its own fields
    }
  }
  const found = await t.find(e.id, channel).catch(() => undefined);
  return found?.response !== undefined && found.response.status !== "pending" ? found.response : undefined;
}

async function exists(t: Transport & Inspection, channel: string): Promise<boolean> {
  try {
    return (await capable(t, "admin").listChannels()).some((c) => c.name === channel);
  } catch (err) {
    if (isAbqError(err)) return false;
    throw err;
  }
}

function sendTime(r: Request): number {
  const ms = Date.parse(r.timestamp);
  return Number.isFinite(ms) ? ms : 0;
}
