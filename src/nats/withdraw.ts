/**
 * Withdrawing pending messages (cancel, purge): a `cancelled` record first — a claim racing us finds it
 * and skips the message, or a claimer that got there first keeps it (E_CONFLICT here) — then, on a queue,
 * the stream message itself. On a topic the other queues' copies stay.
 */
import { AbqError } from "../protocol/errors.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import type { NatsContext, NatsQueue as Queue } from "./context.ts";
import { recordKey, streamName } from "./names.ts";
import { createRecord, getRecord, type StateRecord, updateRecord } from "./records.ts";
import { pendingIds } from "./inspect.ts";
import { pendingMessage } from "./fence.ts";

export async function cancel(ctx: NatsContext, q: Queue, id: string, reason: string, queueStream: boolean) {
  const stored = await pendingMessage(ctx, q.channel, id);
  const key = recordKey(q.channel, q.subscriber, id);
  const current = await getRecord(ctx.kv, key);
  if (!stored) {
    if (!current) throw new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${q.channel}'`);
    throw cannotCancel(id, current.record.state);
  }
  // A released message is pending again: its record is replaced; any other record means it is taken.
  if (current && current.record.state !== "released") throw cannotCancel(id, current.record.state);
  const record: StateRecord = {
    state: "cancelled",
    request: stored.request,
    reason: { reason, by: ctx.agent, at: formatTimestamp() },
    updatedMs: Date.now(),
  };
  const won = current
    ? await updateRecord(ctx.kv, key, record, current.revision)
    : await createRecord(ctx.kv, key, record);
  if (won === null) {
    throw cannotCancel(id, (await getRecord(ctx.kv, key))?.record.state ?? "claimed");
  }
  if (queueStream) await ctx.jsm.streams.deleteMessage(streamName(q.channel), stored.seq, false).catch(() => false);
}

function cannotCancel(id: string, state: string): AbqError {
  const shown = state === "read" || state === "cancelled" || state === "acked" ? "done" : state;
  return new AbqError("E_CONFLICT", `message ${id} is ${shown}, so it can no longer be cancelled`, {
    hint: state === "claimed" ? "a consumer is already working on it" : `see it with: abq show ${id}`,
  });
}

/** Withdraws every pending message of a queue with `reason`; one claimed meanwhile stays with its consumer. */
export async function purge(ctx: NatsContext, q: Queue, reason: string, queueStream: boolean): Promise<string[]> {
  const moved: string[] = [];
  for (const id of await pendingIds(ctx, q)) {
    const ok = await cancel(ctx, q, id, reason, queueStream).then(
      () => true,
      () => false,
    );
    if (ok) moved.push(id);
  }
  return moved;
}
