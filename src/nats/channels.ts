/**
 * Channels as streams. A queue is a work-queue stream (each message is deleted once acked, and at most
 * one consumer may read a subject: the shared durable `work`). A topic is an interest stream: every
 * durable consumer on it (the shared `work` plus one `sub-<name>` per subscriber, starting at messages
 * published after it subscribed) gets its own copy, and a message is dropped once all of them acked.
 * The stream's description is the channel's; its creation time is the channel's.
 */
import type { ConsumerConfig, StreamInfo } from "@nats-io/jetstream";
import { AbqError } from "../protocol/errors.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";
import { formatTimestamp } from "../protocol/schema.ts";
import type { ChannelInfo } from "../lifecycle/transport.ts";
import { natsError } from "./connect.ts";
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

/** The channel's stream, or E_NO_CHANNEL. */
export async function requireStream(ctx: NatsContext, channel: ChannelName): Promise<StreamInfo> {
  try {
    return await ctx.jsm.streams.info(streamName(channel));
  } catch (err) {
    if (isNotFound(err)) {
      throw new AbqError("E_NO_CHANNEL", `no channel '${channel}' on ${ctx.s.display}`, {
        hint: `create it with: abq channel create ${channel}`,
      });
    }
    throw natsError(`cannot read channel '${channel}'`, ctx.s, err);
  }
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
  let existing: StreamInfo | undefined;
  try {
    existing = await ctx.jsm.streams.info(stream);
  } catch (err) {
    if (!isNotFound(err)) throw natsError(`cannot create channel '${name}'`, ctx.s, err);
  }
  if (existing) {
    const topic = existing.config.retention === "interest";
    if (opts.topic === true && !topic) {
      throw new AbqError("E_CONFLICT", `channel '${name}' is a queue; on NATS it cannot become a topic`, {
        hint: `remove it first (abq channel rm ${name}) or use another name`,
      });
    }
    if (opts.description !== undefined && opts.description !== (existing.config.description ?? "")) {
      existing = await ctx.jsm.streams.update(stream, { ...existing.config, description: opts.description });
    }
    return { info: await infoOf(ctx, existing, name), created: false };
  }
  try {
    const info = await ctx.jsm.streams.add({
      name: stream,
      subjects: [requestSubjects(name)],
      retention: opts.topic === true ? "interest" : "workqueue",
      storage: "file",
      description: opts.description ?? "",
      duplicate_window: nanos(120_000),
    });
    await ctx.jsm.consumers.add(stream, consumerConfig(ctx, name));
    return { info: await infoOf(ctx, info, name), created: true };
  } catch (err) {
    throw natsError(`cannot create channel '${name}'`, ctx.s, err);
  }
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
  const subs: SubscriberName[] = [];
  for await (const ci of ctx.jsm.consumers.list(stream)) {
    const sub = subscriberOfConsumer(ci.name);
    if (sub !== undefined) subs.push(sub);
  }
  return subs.sort();
}

/** Every channel; streams that are not abq channels (or whose names are not valid) are skipped. */
export async function listChannels(ctx: NatsContext): Promise<NatsChannelInfo[]> {
  const out: NatsChannelInfo[] = [];
  try {
    for await (const si of ctx.jsm.streams.list()) {
      const name = channelOfStream(si.config.name);
      if (name !== undefined) out.push(await infoOf(ctx, si, name));
    }
  } catch (err) {
    throw natsError("cannot list channels", ctx.s, err);
  }
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
  try {
    await ctx.jsm.consumers.info(streamName(topic), consumerName(name));
    return { created: false };
  } catch (err) {
    if (!isNotFound(err)) throw natsError(`cannot subscribe ${name}`, ctx.s, err);
  }
  await ctx.jsm.consumers.add(streamName(topic), consumerConfig(ctx, topic, name));
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
  try {
    const ci = await ctx.jsm.consumers.info(stream, consumerName(subscriber));
    // ABQ_NATS_ACK_WAIT_MS given: bring the lease of an existing consumer in line with it.
    if (ctx.s.ackWaitExplicit && ci.config.ack_wait !== nanos(ctx.s.ackWaitMs)) {
      await ctx.jsm.consumers.update(stream, consumerName(subscriber), { ack_wait: nanos(ctx.s.ackWaitMs) });
    }
  } catch (err) {
    if (!isNotFound(err)) throw natsError(`cannot open channel '${channel}'`, ctx.s, err);
    await requireStream(ctx, channel);
    if (subscriber !== undefined) {
      await requireTopic(ctx, channel);
      throw new AbqError("E_NO_CHANNEL", `'${subscriber}' is not subscribed to '${channel}'`, {
        hint: `subscribe first: abq subscribe ${channel} ${subscriber}`,
      });
    }
    // The stream exists without its shared consumer (made by hand, or half-created): add it.
    await ctx.jsm.consumers.add(stream, consumerConfig(ctx, channel));
  }
}
