/**
 * Names on the NATS side, all derived here from validated abq names (`ChannelName`, `SubscriberName`, see
 * src/protocol/names.ts) so that no channel or subscriber name can reach another channel's subjects,
 * stream or keys.
 *
 * abq names allow `.` (a subject token separator, and forbidden in stream and consumer names) and `_`.
 * `encodeName` keeps `[a-z0-9-]` and writes every other character as `_` + two hex digits, so `_` itself
 * becomes `_5f`: the mapping is injective and its output is a valid subject token, stream-name suffix,
 * consumer name and KV key token.
 */
import { type ChannelName, isChannelName, isSubscriberName, type SubscriberName } from "../protocol/names.ts";

export function encodeName(name: string): string {
  return name.replace(/[^a-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

export function decodeName(encoded: string): string {
  return encoded.replace(/_([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Prefix of every abq stream; the rest is the encoded channel name. */
export const STREAM_PREFIX = "ABQ_";
/** The KV bucket holding one state record per message per queue (claims, answers, archive). */
export const BUCKET = "abq_state";
/** The durable consumer anonymous consumers share (the whole queue, or a topic's shared copy). */
export const SHARED_CONSUMER = "work";
/** Placeholder for "the shared queue" in KV keys; `encodeName` never produces a bare `_`. */
const SHARED_TOKEN = "_";

export function streamName(channel: ChannelName): string {
  return `${STREAM_PREFIX}${encodeName(channel)}`;
}

/** The channel a stream belongs to, or undefined for streams that are not abq channels. */
export function channelOfStream(stream: string): ChannelName | undefined {
  if (!stream.startsWith(STREAM_PREFIX)) return undefined;
  const name = decodeName(stream.slice(STREAM_PREFIX.length));
  return isChannelName(name) && streamName(name) === stream ? name : undefined;
}

/** Every request is published on its own subject, so one message can be found (and withdrawn) by id. */
export function requestSubject(channel: string, id: string): string {
  return `abq.${encodeName(channel)}.req.${id}`;
}

export function requestSubjects(channel: string): string {
  return `abq.${encodeName(channel)}.req.>`;
}

export function idOfSubject(subject: string): string {
  return subject.slice(subject.lastIndexOf(".") + 1);
}

export function subscriberConsumer(subscriber: SubscriberName): string {
  return `sub-${encodeName(subscriber)}`;
}

/** The subscriber a consumer belongs to, or undefined for the shared one and for names that are not valid. */
export function subscriberOfConsumer(consumer: string): SubscriberName | undefined {
  if (!consumer.startsWith("sub-")) return undefined;
  const name = decodeName(consumer.slice(4));
  return isSubscriberName(name) ? name : undefined;
}

export function consumerName(subscriber: SubscriberName | undefined): string {
  return subscriber === undefined ? SHARED_CONSUMER : subscriberConsumer(subscriber);
}

/** KV key of a message's state record in one queue: `<channel>.<queue>.<id>`. */
export function recordKey(channel: string, subscriber: string | undefined, id: string): string {
  return `${queuePrefix(channel, subscriber)}.${id}`;
}

export function queuePrefix(channel: string, subscriber: string | undefined): string {
  return `${encodeName(channel)}.${subscriber === undefined ? SHARED_TOKEN : encodeName(subscriber)}`;
}

/** KV key filter for every record of a channel (all its queues). */
export function channelKeys(channel: string): string {
  return `${encodeName(channel)}.>`;
}
