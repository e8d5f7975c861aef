/**
 * `abq show`: a message in any state, found by id. The state record says where it is; a message with
 * no record is pending in the stream. A topic message may be known only in subscribers' queues.
 */
import { AbqError } from "../protocol/errors.ts";
import type { ChannelName, MessageId } from "../protocol/names.ts";
import type { FoundMessage, StateName } from "../lifecycle/transport.ts";
import { listChannels, requireStream } from "./channels.ts";
import type { NatsContext } from "./context.ts";
import { pendingMessage } from "./fence.ts";
import { leaseOf } from "./held-claims.ts";
import { isDelayed, locate, reasonOf } from "./inspect.ts";
import { queuePrefix, recordKey, streamName } from "./names.ts";
import { getRecord, type RecordState, type StateRecord } from "./records.ts";

/** As the spool reports them: an answered request is done (its answer may still wait to be read). */
const STATE_OF: Record<Exclude<RecordState, "released">, StateName> = {
  claimed: "claimed",
  answered: "done",
  read: "done",
  acked: "acknowledged",
  cancelled: "withdrawn",
  rejected: "rejected",
  dead: "dead",
  late: "late",
};

/** What `show` prints for a record: its state, why, and the lease of a claim. */
function describe(ctx: NatsContext, id: string, r: StateRecord): Omit<FoundMessage, "channel" | "files"> {
  const state = r.state === "released" ? (isDelayed(r) ? "delayed" : "pending") : STATE_OF[r.state];
  const reason = reasonOf(r);
  return {
    state,
    request: r.request,
    response: r.response ?? r.note,
    ...(reason !== undefined ? { reason } : {}),
    ...(r.state === "claimed" && r.claim ? { lease: leaseOf(ctx, id, r.claim, r.releases) } : {}),
  };
}

export async function findMessage(ctx: NatsContext, id: MessageId, channel?: ChannelName): Promise<FoundMessage> {
  if (channel !== undefined) await requireStream(ctx, channel);
  const all = channel === undefined ? await listChannels(ctx) : undefined;
  const channels = channel !== undefined ? [channel] : all!.map((c) => c.name);
  for (const name of channels) {
    const got = await getRecord(ctx.kv, recordKey(name, undefined, id));
    const files = [`nats:${streamName(name)}/${id}`, locate({ channel: name, subscriber: undefined }, id)];
    if (got) return { channel: name, ...describe(ctx, id, got.record), files };
    const stored = await pendingMessage(ctx, name, id);
    if (stored) return { channel: name, state: "pending", request: stored.request, files: files.slice(0, 1) };
  }
  for (const name of channels) {
    for await (const key of await ctx.kv.keys(`${queuePrefix(name, undefined).slice(0, -2)}.*.${id}`)) {
      const got = await getRecord(ctx.kv, key);
      if (!got) continue;
      const subscribers = (all ?? (await listChannels(ctx))).find((c) => c.name === name)?.subscribers ?? [];
      const subscriber = subscribers.find((s) => recordKey(name, s, id) === key);
      return { channel: name, subscriber, ...describe(ctx, id, got.record), files: [`kv:${key}`] };
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
