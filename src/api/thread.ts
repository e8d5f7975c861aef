/**
 * Threads: the call behind `abq thread`. A conversation's id is its first message's id. A message without
 * a `thread` field starts its own thread (nothing is written on it, so new messages stay as the seed
 * writes them); a reply delivery (src/spool/reply.ts) carries its request's thread, and `send --thread`
 * joins one explicitly. `thread` gathers the root and every message naming it, across every channel.
 */
import type { Request, Response } from "../protocol/schema.ts";
import { isAbqError } from "../protocol/errors.ts";
import { messageId } from "../protocol/names.ts";
import {
  capable,
  type Inspection,
  type ListEntry,
  type ListState,
  type StateName,
  type Transport,
} from "../lifecycle/transport.ts";
import { type CommonOptions, withCapable } from "./options.ts";

/** One message of a conversation, where it is and how it stands. */
export interface ThreadMessage {
  channel: string;
  state: StateName;
  request: Request;
  /** Its answer, when it has one. */
  response?: Response | undefined;
}

export interface Thread {
  /** The thread id: the first message's id. */
  id: string;
  /** Oldest first (by send time, then id). */
  messages: ThreadMessage[];
}

export interface ThreadOptions extends CommonOptions {
  /** Any message of the conversation: its root or a member. */
  id: string;
}

/** The states that hold a request file (answers, late answers and rejected files are not messages of a thread). */
const REQUEST_STATES: readonly ListState[] = ["requests", "delayed", "processing", "archive", "dead", "expired"];

/**
 * The conversation `id` belongs to. Throws E_USAGE for a malformed id, E_NO_MESSAGE when it is found
 * nowhere.
 *
 * Cost: there is no index of threads, so this reads every request of every channel's shared queue, in
 * every state that keeps one (what `abq ls` reads, for all of them): linear in the size of the bus, fine
 * for a command a person runs, not for a hot loop. Topic subscribers' copies are not read (each is a copy
 * of a message in the topic's own queue).
 */
export async function thread(opts: ThreadOptions): Promise<Thread> {
  const id = messageId(opts.id);
  return withCapable(opts, "inspect", async (t) => {
    const given = await t.find(id); // E_NO_MESSAGE when it is nowhere
    const root = given.request?.thread ?? id;
    const members = await scan(t, root);
    if (!members.some((m) => m.id === root)) {
      // The root may sit where the scan does not look (only in a subscriber's copy).
      const found = await t.find(root).catch(notFound);
      if (found !== undefined) members.push({ channel: found.channel, id: root });
    }
    const messages: ThreadMessage[] = [];
    for (const { channel, id: member } of members) {
      const found = await t.find(member, channel).catch(notFound); // gone meanwhile: left out
      if (found?.request === undefined) continue;
      messages.push({
        channel: found.channel,
        state: found.state,
        request: found.request,
        ...(found.response !== undefined ? { response: found.response } : {}),
      });
    }
    messages.sort((a, b) => sendTime(a) - sendTime(b) || (a.request.id < b.request.id ? -1 : 1));
    return { id: root, messages };
  });
}

/** Every (channel, id) whose request is `root` or names it as its thread. */
async function scan(t: Transport & Inspection, root: string): Promise<Array<{ channel: string; id: string }>> {
  const members: Array<{ channel: string; id: string }> = [];
  await eachRequest(t, REQUEST_STATES, (channel, m) => {
    if (m.id === root || m.thread === root) members.push({ channel, id: m.id });
  });
  return members;
}

/**
 * Calls `visit` with every readable request in `states` of every channel's shared queue (or of the
 * `channels` given), each (channel, id) once: one moved to a later state while we list is seen where it
 * was first found. Reads everything (no index): linear in the size of the bus. Shared with `search`.
 */
export async function eachRequest(
  t: Transport & Inspection,
  states: readonly ListState[],
  visit: (channel: string, message: Request, entry: ListEntry) => void,
  channels?: readonly string[],
): Promise<void> {
  const names = channels ?? (await capable(t, "admin").listChannels()).map((c) => c.name);
  for (const name of names) {
    const seen = new Set<string>();
    for (const state of states) {
      const entries = await t.list(name, state, { limit: Number.MAX_SAFE_INTEGER, oldestFirst: true }).catch(gone);
      for (const e of entries) {
        const m = e.message;
        if (m === undefined || !("type" in m) || seen.has(m.id)) continue;
        seen.add(m.id);
        visit(name, m as Request, e);
      }
    }
  }
}

/** A channel removed while we listed it: nothing in it. */
function gone(err: unknown): [] {
  if (isAbqError(err)) return [];
  throw err;
}

function notFound(err: unknown): undefined {
  if (isAbqError(err) && err.code === "E_NO_MESSAGE") return undefined;
  throw err;
}

function sendTime(m: ThreadMessage): number {
  const ms = Date.parse(m.request.timestamp);
  return Number.isFinite(ms) ? ms : 0;
}
