/**
 * Channels as streams. A queue is a work-queue stream (each message is deleted once acked, and at most
 * one consumer may read a subject: the shared durable `work`). A topic is an interest stream: every
 * durable consumer on it (the shared `work` plus one `sub-<name>` per subscriber, starting at messages
 * published after it subscribed) gets its own copy, and a message is dropped once all of them acked.
 * The stream's description is the channel's; its creation time is the channel's.
 */
import type { ConsumerConfig, ConsumerInfo, StreamInfo } from "@nats-io/jetstream";
import { AbqError } from "../protocol/errors.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import type { ChannelInfo } from "../lifecycle/transport.ts";
import { natsError, retrying } from "./connect.ts";
import { type NatsContext, nanos } from "./context.ts";
import {
  channelKeys,
  channelOfStream,
  consumerName,
  queuePrefix,
  requestSubjects,
  streamName,
  subscriberOfConsumer,
} from "./names.ts";

/** A channel as read from the server: its names are checked (streams and consumers with invalid names are skipped). */
export interface NatsChannelInfo extends ChannelInfo {
  name: ChannelName;
  subscribers?: SubscriberName[] | undefined;
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && (err.code === 10059 || err.code === 10014);
}

/**
 * The channel's stream, or undefined when there is none. Lookups are retried through an outage or a
 * leader election (`retrying`): a stream whose leader is being elected does not answer for a few seconds.
 */
async function streamInfo(ctx: NatsContext, channel: ChannelName, action: string): Promise<StreamInfo | undefined> {
  return retrying(ctx.s, action, async () => {
    try {
      return await ctx.jsm.streams.info(streamName(channel));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });
}

/** The consumer, or undefined when there is none (retried like `streamInfo`). */
async function consumerInfo(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber: SubscriberName | undefined,
  action: string,
): Promise<ConsumerInfo | undefined> {
  return retrying(ctx.s, action, async () => {
    try {
      return await ctx.jsm.consumers.info(streamName(channel), consumerName(subscriber));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });
}

/** The channel's stream, or E_NO_CHANNEL. */
export async function requireStream(ctx: NatsContext, channel: ChannelName): Promise<StreamInfo> {
  const si = await streamInfo(ctx, channel, `cannot read channel '${channel}'`);
  if (si) return si;
  throw new AbqError("E_NO_CHANNEL", `no channel '${channel}' on ${ctx.s.display}`, {
    hint: `create it with: abq channel create ${channel}`,
  });
}

export function consumerConfig(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber?: SubscriberName,
): Partial<ConsumerConfig> {
  return {
    durable_name: consumerName(subscriber),
    ack_policy: "explicit",
    ack_wait: nanos(ctx.s.ackWaitMs),
    filter_subject: requestSubjects(channel),
    deliver_policy: subscriber === undefined ? "all" : "new",
    max_ack_pending: 10_000,
    max_deliver: -1,
  };
}

export async function createChannel(
  ctx: NatsContext,
  name: ChannelName,
  opts: { description?: string | undefined; topic?: boolean | undefined },
): Promise<{ info: NatsChannelInfo; created: boolean }> {
  const stream = streamName(name);
  const action = `cannot create channel '${name}'`;
  let existing = await streamInfo(ctx, name, action);
  if (existing) {
    const topic = existing.config.retention === "interest";
    if (opts.topic === true && !topic) {
      throw new AbqError("E_CONFLICT", `channel '${name}' is a queue; on NATS it cannot become a topic`, {
        hint: `remove it first (abq channel rm ${name}) or use another name`,
      });
    }
    if (opts.description !== undefined && opts.description !== (existing.config.description ?? "")) {
      const config = { ...existing.config, description: opts.description };
      existing = await retrying(ctx.s, action, () => ctx.jsm.streams.update(stream, config));
    }
    return { info: await infoOf(ctx, existing, name), created: false };
  }
  // Both adds are idempotent (the same configuration again is accepted), so a retry after a timeout
  // whose first try landed is harmless. Consumers inherit the stream's replicas.
  const info = await retrying(ctx.s, action, () =>
    ctx.jsm.streams.add({
      name: stream,
      subjects: [requestSubjects(name)],
      retention: opts.topic === true ? "interest" : "workqueue",
      storage: "file",
      description: opts.description ?? "",
      duplicate_window: nanos(120_000),
      num_replicas: ctx.s.replicas,
    }),
  );
  await retrying(ctx.s, action, () => ctx.jsm.consumers.add(stream, consumerConfig(ctx, name)));
  return { info: await infoOf(ctx, info, name), created: true };
}

/** What `channel ls` / `channel info` show of the stream `si` of channel `name`. */
export async function infoOf(ctx: NatsContext, si: StreamInfo, name: ChannelName): Promise<NatsChannelInfo> {
  const topic = si.config.retention === "interest";
  const info: NatsChannelInfo = {
    name,
    kind: topic ? "topic" : "queue",
    description: si.config.description ?? "",
    created: formatTimestamp(Date.parse(si.created)),
  };
  if (topic) info.subscribers = await subscribersOf(ctx, si.config.name);
  return info;
}

/** A topic's subscribers, from its consumers (`sub-<name>`; consumers with invalid names are skipped). */
export async function subscribersOf(ctx: NatsContext, stream: string): Promise<SubscriberName[]> {
  return retrying(ctx.s, "cannot list subscribers", async () => {
    const subs: SubscriberName[] = [];
    for await (const ci of ctx.jsm.consumers.list(stream)) {
      const sub = subscriberOfConsumer(ci.name);
      if (sub !== undefined) subs.push(sub);
    }
    return subs.sort();
  });
}

/** Every channel; streams that are not abq channels (or whose names are not valid) are skipped. */
export async function listChannels(ctx: NatsContext): Promise<NatsChannelInfo[]> {
  const streams = await retrying(ctx.s, "cannot list channels", async () => {
    const all: { si: StreamInfo; name: ChannelName }[] = [];
    for await (const si of ctx.jsm.streams.list()) {
      const name = channelOfStream(si.config.name);
      if (name !== undefined) all.push({ si, name });
    }
    return all;
  });
  const out: NatsChannelInfo[] = [];
  for (const { si, name } of streams) out.push(await infoOf(ctx, si, name));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function requireTopic(ctx: NatsContext, channel: ChannelName): Promise<StreamInfo> {
  const si = await requireStream(ctx, channel);
  if (si.config.retention !== "interest") {
    throw new AbqError("E_USAGE", `channel '${channel}' is a queue, not a topic`, {
      hint: `subscribers need a topic: abq channel create <name> --topic`,
    });
  }
  return si;
}

export async function subscribe(
  ctx: NatsContext,
  topic: ChannelName,
  name: SubscriberName,
): Promise<{ created: boolean }> {
  await requireTopic(ctx, topic);
  const action = `cannot subscribe ${name}`;
  if (await consumerInfo(ctx, topic, name, action)) return { created: false };
  await retrying(ctx.s, action, () => ctx.jsm.consumers.add(streamName(topic), consumerConfig(ctx, topic, name)));
  return { created: true };
}

/** Deletes the subscriber's consumer (its unacked copies go with it) and its records. */
export async function unsubscribe(ctx: NatsContext, topic: ChannelName, name: SubscriberName): Promise<void> {
  await requireTopic(ctx, topic);
  try {
    await ctx.jsm.consumers.delete(streamName(topic), consumerName(name));
  } catch (err) {
    if (isNotFound(err)) throw new AbqError("E_NO_CHANNEL", `'${name}' is not subscribed to '${topic}'`);
    throw natsError(`cannot unsubscribe ${name}`, ctx.s, err);
  }
  await purgeKeys(ctx, `${queuePrefix(topic, name)}.>`);
}

export async function removeChannel(ctx: NatsContext, name: ChannelName): Promise<void> {
  await requireStream(ctx, name);
  await ctx.jsm.streams.delete(streamName(name));
  await purgeKeys(ctx, channelKeys(name));
}

async function purgeKeys(ctx: NatsContext, filter: string): Promise<void> {
  const keys: string[] = [];
  for await (const key of await ctx.kv.keys(filter)) keys.push(key);
  for (const key of keys) await ctx.kv.purge(key);
}

/** The consumer to pull from exists (a subscriber may have been removed); E_NO_CHANNEL otherwise. */
export async function requireConsumer(
  ctx: NatsContext,
  channel: ChannelName,
  subscriber?: SubscriberName,
): Promise<void> {
  const stream = streamName(channel);
  const action = `cannot open channel '${channel}'`;
  const ci = await consumerInfo(ctx, channel, subscriber, action);
  if (ci) {
    // ABQ_NATS_ACK_WAIT_MS given: bring the lease of an existing consumer in line with it.
    if (ctx.s.ackWaitExplicit && ci.config.ack_wait !== nanos(ctx.s.ackWaitMs)) {
      const config = { ack_wait: nanos(ctx.s.ackWaitMs) };
      await retrying(ctx.s, action, () => ctx.jsm.consumers.update(stream, consumerName(subscriber), config));
    }
    return;
  }
  await requireStream(ctx, channel);
  if (subscriber !== undefined) {
    await requireTopic(ctx, channel);
    throw new AbqError("E_NO_CHANNEL", `'${subscriber}' is not subscribed to '${channel}'`, {
      hint: `subscribe first: abq subscribe ${channel} ${subscriber}`,
    });
  }
  // The stream exists without its shared consumer (made by hand, or half-created): add it.
  await retrying(ctx.s, action, () => ctx.jsm.consumers.add(stream, consumerConfig(ctx, channel)));
}
