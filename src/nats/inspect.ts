/**
 * Read-only views. A work-queue stream cannot be browsed with a second consumer, but its messages can be
 * read directly: each request has its own subject, so the stream's subject list names every message
 * still in it, and `last_by_subj` fetches one. Claims, answers and the archive are the state records.
 * Counts come from the consumer (pending, claimed) and the records (answered, archived, rejected).
 */
import { AbqError } from "../protocol/errors.ts";
import { idTime, isId } from "../protocol/ids.ts";
import type { ChannelStatus, FoundMessage, ListEntry, ListState, MessageState } from "../transport.ts";
import { listChannels, requireStream } from "./channels.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { consumerName, idOfSubject, queuePrefix, recordKey, requestSubjects, streamName } from "./names.ts";
import { getRecord, readRecords, type RecordState, type StateRecord } from "./records.ts";
import { pendingMessage } from "./respond.ts";

/** Ids of the queue's pending messages, oldest first: in the stream, and not claimed or done in this queue. */
export async function pendingIds(ctx: NatsContext, q: Queue, records?: Map<string, StateRecord>): Promise<string[]> {
  const si = await ctx.jsm.streams.info(streamName(q.channel), { subjects_filter: requestSubjects(q.channel) });
  const done = records ?? (await queueRecords(ctx, q));
  let since = 0;
  if (q.subscriber !== undefined) {
    since = Date.parse((await ctx.jsm.consumers.info(streamName(q.channel), consumerName(q.subscriber))).created);
  }
  return Object.keys(si.state.subjects ?? {})
    .map(idOfSubject)
    .filter((id) => isId(id) && !done.has(id) && (idTime(id) ?? 0) >= since - 1000)
    .sort();
}

async function queueRecords(ctx: NatsContext, q: Queue): Promise<Map<string, StateRecord>> {
  const prefix = queuePrefix(q.channel, q.subscriber);
  const rows = await readRecords(ctx.kv, `${prefix}.*`);
  return new Map(rows.map(({ key, record }) => [key.slice(prefix.length + 1), record]));
}

const ANSWERED: RecordState[] = ["answered"];
const ARCHIVED: RecordState[] = ["answered", "read", "cancelled"];

export async function queueStatus(ctx: NatsContext, q: Queue): Promise<ChannelStatus> {
  const records = await queueRecords(ctx, q);
  const ci = await ctx.jsm.consumers.info(streamName(q.channel), consumerName(q.subscriber));
  const count = (states: RecordState[]) => [...records.values()].filter((r) => states.includes(r.state)).length;
  const pending = ci.num_pending > 0 || ci.num_ack_pending > 0 ? await pendingIds(ctx, q, records) : [];
  const oldest = pending[0] !== undefined ? idTime(pending[0]) : undefined;
  return {
    name: q.channel,
    ...(q.subscriber !== undefined ? { subscriber: q.subscriber } : {}),
    pending: ci.num_pending,
    processing: ci.num_ack_pending,
    responses: count(ANSWERED),
    archived: count(ARCHIVED),
    rejected: count(["rejected", "dead"]),
    oldestPendingAgeMs: oldest !== undefined ? Math.max(0, Date.now() - oldest) : null,
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

const STATES_OF: Record<Exclude<ListState, "requests">, RecordState[]> = {
  processing: ["claimed"],
  responses: ANSWERED,
  archive: ARCHIVED,
  rejected: ["rejected", "dead"],
};

export async function listState(
  ctx: NatsContext,
  q: Queue,
  state: ListState,
  opts: { limit: number; oldestFirst: boolean },
): Promise<ListEntry[]> {
  await requireStream(ctx, q.channel);
  const records = await queueRecords(ctx, q);
  const order = (ids: string[]) => (opts.oldestFirst ? ids : ids.reverse()).slice(0, Math.max(0, opts.limit));
  if (state === "requests") {
    const entries: ListEntry[] = [];
    for (const id of order(await pendingIds(ctx, q, records))) {
      const stored = await pendingMessage(ctx, q.channel, id);
      if (stored)
        entries.push({ id, state, file: locate(q, id), message: stored.request, mtimeMs: stored.time.getTime() });
    }
    return entries;
  }
  const wanted = STATES_OF[state];
  const ids = order([...records.keys()].filter((id) => wanted.includes(records.get(id)!.state)).sort());
  return ids.map((id) => {
    const r = records.get(id)!;
    return {
      id,
      state,
      file: locate(q, id),
      message: state === "responses" ? r.response : r.request,
      problem: r.problem,
      mtimeMs: r.updatedMs,
    };
  });
}

export async function countState(ctx: NatsContext, q: Queue, state: ListState): Promise<number> {
  await requireStream(ctx, q.channel);
  if (state === "requests") return (await queueStatus(ctx, q)).pending;
  const wanted = STATES_OF[state];
  return [...(await queueRecords(ctx, q)).values()].filter((r) => wanted.includes(r.state)).length;
}

/** Where a message is, for humans: `nats:<stream>/<id>` (the stream) and `kv:<bucket>/<key>` (its record). */
function locate(q: Queue, id: string): string {
  return `kv:${recordKey(q.channel, q.subscriber, id)}`;
}

const FOUND_STATE: Record<RecordState, MessageState> = {
  claimed: "claimed",
  answered: "done",
  read: "done",
  cancelled: "done",
  rejected: "rejected",
  dead: "rejected",
};

export async function findMessage(ctx: NatsContext, id: string, channel?: string): Promise<FoundMessage> {
  if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
  if (channel !== undefined) await requireStream(ctx, channel);
  const channels = channel !== undefined ? [channel] : (await listChannels(ctx)).map((c) => c.name);
  for (const name of channels) {
    const got = await getRecord(ctx.kv, recordKey(name, undefined, id));
    const stored = got ? null : await pendingMessage(ctx, name, id);
    const files = [`nats:${streamName(name)}/${id}`, locate({ channel: name, subscriber: undefined }, id)];
    if (got) {
      const r = got.record;
      return { channel: name, state: FOUND_STATE[r.state], request: r.request, response: r.response ?? r.note, files };
    }
    if (stored) return { channel: name, state: "pending", request: stored.request, files: files.slice(0, 1) };
  }
  // A topic message may be known only in subscribers' queues.
  for (const name of channels) {
    for await (const key of await ctx.kv.keys(`${queuePrefix(name, undefined).slice(0, -2)}.*.${id}`)) {
      const got = await getRecord(ctx.kv, key);
      if (!got) continue;
      const sub = (await listChannels(ctx))
        .find((c) => c.name === name)
        ?.subscribers?.find((s) => recordKey(name, s, id) === key);
      const r = got.record;
      return {
        channel: name,
        subscriber: sub,
        state: FOUND_STATE[r.state],
        request: r.request,
        response: r.response,
        files: [`kv:${key}`],
      };
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
