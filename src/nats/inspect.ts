/**
 * Read-only views. A work-queue stream cannot be browsed with a second consumer, but its messages can be
 * read directly: each request has its own subject, so the stream's subject list names every message
 * still in it, and `last_by_subj` fetches one. Claims, answers, releases and the archive are the state
 * records. Counts come from the consumer (pending, claimed) and the records (everything else).
 */
import { idTime, isId } from "../protocol/ids.ts";
import type { ChannelStatus, ListEntry, ListState } from "../lifecycle/transport.ts";
import { listChannels, requireStream } from "./channels.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { pendingMessage } from "./fence.ts";
import { consumerName, idOfSubject, queuePrefix, recordKey, requestSubjects, streamName } from "./names.ts";
import { readRecords, type RecordState, type StateRecord } from "./records.ts";

/** A released message waiting out its delay (JetStream holds the nak'ed delivery back until then). */
export function isDelayed(r: StateRecord, now = Date.now()): boolean {
  return r.state === "released" && (r.dueMs ?? 0) > now;
}

/** Ids of the queue's pending messages, oldest first: in the stream, and not claimed, delayed or done here. */
export async function pendingIds(ctx: NatsContext, q: Queue, records?: Map<string, StateRecord>): Promise<string[]> {
  const si = await ctx.jsm.streams.info(streamName(q.channel), { subjects_filter: requestSubjects(q.channel) });
  const done = records ?? (await queueRecords(ctx, q));
  const now = Date.now();
  const isPending = (id: string) => {
    const r = done.get(id);
    return r === undefined || (r.state === "released" && !isDelayed(r, now));
  };
  let since = 0;
  if (q.subscriber !== undefined) {
    since = Date.parse((await ctx.jsm.consumers.info(streamName(q.channel), consumerName(q.subscriber))).created);
  }
  return Object.keys(si.state.subjects ?? {})
    .map(idOfSubject)
    .filter((id) => isId(id) && isPending(id) && (idTime(id) ?? 0) >= since - 1000)
    .sort();
}

async function queueRecords(ctx: NatsContext, q: Queue): Promise<Map<string, StateRecord>> {
  const prefix = queuePrefix(q.channel, q.subscriber);
  const rows = await readRecords(ctx.kv, `${prefix}.*`);
  return new Map(rows.map(({ key, record }) => [key.slice(prefix.length + 1), record]));
}

/** Answers kept aside after their lease was lost (respond.ts `keepLate`), by message id. */
async function lateRecords(ctx: NatsContext, q: Queue): Promise<Map<string, StateRecord>> {
  const prefix = queuePrefix(q.channel, q.subscriber);
  const rows = await readRecords(ctx.kv, `${prefix}.*.late.*`);
  return new Map(rows.map(({ key, record }) => [key.slice(prefix.length + 1).replace(".late.", "."), record]));
}

/** Which record states each listing shows (`requests` comes from the stream, `late` from its own keys). */
const STATES_OF: Record<Exclude<ListState, "requests" | "late">, RecordState[]> = {
  delayed: ["released"],
  processing: ["claimed"],
  responses: ["answered"],
  archive: ["answered", "read", "cancelled", "acked"],
  dead: ["dead"],
  // JetStream keeps no TTL clock of its own and abq does not expire messages on it: nothing is listed.
  expired: [],
  rejected: ["rejected"],
};

function matches(state: Exclude<ListState, "requests" | "late">, r: StateRecord, now: number): boolean {
  return STATES_OF[state].includes(r.state) && (state !== "delayed" || isDelayed(r, now));
}

export async function queueStatus(ctx: NatsContext, q: Queue): Promise<ChannelStatus> {
  const records = await queueRecords(ctx, q);
  const ci = await ctx.jsm.consumers.info(streamName(q.channel), consumerName(q.subscriber));
  const now = Date.now();
  const count = (state: Exclude<ListState, "requests" | "late">) =>
    [...records.values()].filter((r) => matches(state, r, now)).length;
  const released = [...records.values()].filter((r) => r.state === "released").length;
  const pending = ci.num_pending > 0 || ci.num_ack_pending > 0 ? await pendingIds(ctx, q, records) : [];
  const oldest = pending[0] !== undefined ? idTime(pending[0]) : undefined;
  const delayed = count("delayed");
  return {
    name: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    // JetStream counts a nak'ed delivery as awaiting its ack: released messages move to pending/delayed.
    pending: ci.num_pending + (released - delayed),
    delayed,
    processing: Math.max(0, ci.num_ack_pending - released),
    responses: count("responses"),
    archived: count("archive"),
    dead: count("dead"),
    expired: 0,
    rejected: count("rejected"),
    late: (await lateRecords(ctx, q)).size,
    oldest_pending_age_ms: oldest !== undefined ? Math.max(0, now - oldest) : null,
  };
}

export async function statusAll(ctx: NatsContext): Promise<ChannelStatus[]> {
  const rows: ChannelStatus[] = [];
  for (const channel of await listChannels(ctx)) {
    rows.push(await queueStatus(ctx, { channel: channel.name, subscriber: undefined }));
    for (const sub of channel.subscribers ?? [])
      rows.push(await queueStatus(ctx, { channel: channel.name, subscriber: sub }));
  }
  return rows;
}

/** Why a record is in its state, for listings and `show`. */
export function reasonOf(r: StateRecord): Record<string, unknown> | undefined {
  if (r.state === "dead") return { problem: r.problem, ...r.failure };
  if (r.state === "rejected") return { problem: r.problem };
  if (r.state === "released") {
    const due = r.dueMs !== undefined ? { due: new Date(r.dueMs).toISOString() } : {};
    return { ...due, releases: r.releases ?? 0, ...(r.failure ? { failure: r.failure } : {}) };
  }
  return r.reason;
}

export async function listState(
  ctx: NatsContext,
  q: Queue,
  state: ListState,
  opts: { limit: number; oldestFirst: boolean },
): Promise<ListEntry[]> {
  await requireStream(ctx, q.channel);
  const order = (ids: string[]) => (opts.oldestFirst ? ids : ids.reverse()).slice(0, Math.max(0, opts.limit));
  if (state === "requests") {
    const entries: ListEntry[] = [];
    for (const id of order(await pendingIds(ctx, q))) {
      const stored = await pendingMessage(ctx, q.channel, id);
      if (stored)
        entries.push({ id, state, file: locate(q, id), message: stored.request, mtimeMs: stored.time.getTime() });
    }
    return entries;
  }
  const now = Date.now();
  const records = state === "late" ? await lateRecords(ctx, q) : await queueRecords(ctx, q);
  const keys = [...records.keys()].filter((k) => state === "late" || matches(state, records.get(k)!, now)).sort();
  return order(keys).map((k) => {
    const r = records.get(k)!;
    const id = k.slice(0, k.indexOf(".") < 0 ? k.length : k.indexOf("."));
    const reason = reasonOf(r);
    return {
      id,
      state,
      file: state === "late" ? `kv:${queuePrefix(q.channel, q.subscriber)}.${k.replace(".", ".late.")}` : locate(q, id),
      message: state === "responses" || state === "late" ? r.response : r.request,
      ...(r.state === "rejected" && r.problem !== undefined ? { problem: r.problem } : {}),
      ...(reason !== undefined ? { reason } : {}),
      mtimeMs: r.updatedMs,
    };
  });
}

export async function countState(ctx: NatsContext, q: Queue, state: ListState): Promise<number> {
  await requireStream(ctx, q.channel);
  if (state === "requests") return (await queueStatus(ctx, q)).pending;
  if (state === "late") return (await lateRecords(ctx, q)).size;
  const now = Date.now();
  return [...(await queueRecords(ctx, q)).values()].filter((r) => matches(state, r, now)).length;
}

/** Where a message's record is, for humans: `kv:<key>`. */
export function locate(q: Queue, id: string): string {
  return `kv:${recordKey(q.channel, q.subscriber, id)}`;
}
