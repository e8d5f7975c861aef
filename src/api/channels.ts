/**
 * Channels and views: the calls behind `abq init`, `abq channel …`, `abq status`, `abq ls`, `abq show`,
 * `abq purge` and `abq schema`.
 */
import { validateChannelName, validateSubscriberName } from "../channel/paths.ts";
import { jsonSchemaFor } from "../protocol/json-schema.ts";
import { AbqError } from "../protocol/errors.ts";
import { defaultPolicy, type Policy, type PolicyInput } from "../channel/policy.ts";
import type { ChannelInfo, ChannelStatus, FoundMessage, ListEntry } from "../transport.ts";
import { type CommonOptions, listInput, parseInput, withTransport, callerAgent } from "./options.ts";

export function init(opts: CommonOptions = {}): Promise<{ home: string; created: boolean }> {
  return withTransport(opts, (t) => t.init());
}

export function createChannel(
  opts: CommonOptions & {
    name: string;
    description?: string | undefined;
    /** Make it a topic: named subscribers each get their own copy. Default: false. */
    topic?: boolean | undefined;
  },
): Promise<{ info: ChannelInfo; created: boolean }> {
  const name = validateChannelName(opts.name);
  return withTransport(opts, (t) => t.createChannel(name, { description: opts.description, topic: opts.topic }));
}

/** Changes a channel's supervision policy (max_attempts, backoff_s, lease_s, ttl_s, retain_s, …). */
export function configureChannel(opts: CommonOptions & { name: string; policy: PolicyInput }): Promise<Policy> {
  const name = validateChannelName(opts.name);
  return withTransport(opts, (t) => {
    if (!t.configure) throw new AbqError("E_USAGE", "this transport has no channel policies");
    return t.configure(name, opts.policy);
  });
}

/** A channel's policy, defaults filled in. */
export function channelPolicy(opts: CommonOptions & { name: string }): Promise<Policy> {
  const name = validateChannelName(opts.name);
  return withTransport(opts, async (t) => (t.policy ? t.policy(name) : defaultPolicy()));
}

/** Subscribes `name` to a topic (idempotent): from now on it gets its own copy of every message. */
export function subscribe(opts: CommonOptions & { topic: string; name: string }): Promise<{ created: boolean }> {
  const topic = validateChannelName(opts.topic);
  const name = validateSubscriberName(opts.name);
  return withTransport(opts, (t) => t.subscribe(topic, name));
}

/** Removes a subscriber and its copies. */
export function unsubscribe(opts: CommonOptions & { topic: string; name: string }): Promise<void> {
  const topic = validateChannelName(opts.topic);
  const name = validateSubscriberName(opts.name);
  return withTransport(opts, (t) => t.unsubscribe(topic, name));
}

export function listChannels(opts: CommonOptions = {}): Promise<ChannelInfo[]> {
  return withTransport(opts, (t) => t.listChannels());
}

export function channelInfo(opts: CommonOptions & { name: string }): Promise<ChannelInfo & { status: ChannelStatus }> {
  const name = validateChannelName(opts.name);
  return withTransport(opts, (t) => t.channelInfo(name));
}

/** Deletes a channel and everything in it; returns its counts just before. */
export function removeChannel(opts: CommonOptions & { name: string }): Promise<ChannelStatus> {
  const name = validateChannelName(opts.name);
  return withTransport(opts, (t) => t.removeChannel(name));
}

export function status(opts: CommonOptions = {}): Promise<ChannelStatus[]> {
  return withTransport(opts, (t) => t.status());
}

export interface ListOptions extends CommonOptions {
  channel: string;
  /** requests (alias pending), processing (claimed), responses, archive (done) or rejected. Default: requests. */
  state?: string | undefined;
  /** Most entries to return. Default: 20. */
  limit?: number | undefined;
  /** Oldest first instead of newest first. Default: false. */
  oldestFirst?: boolean | undefined;
  /** A topic subscriber's copies instead of the shared queue. */
  as?: string | undefined;
}

export function list(opts: ListOptions): Promise<ListEntry[]> {
  const input = parseInput(listInput(), opts);
  return withTransport(opts, (t) =>
    t.list(input.channel, input.state, { limit: input.limit, oldestFirst: input.oldestFirst, as: input.as }),
  );
}

export function count(opts: ListOptions): Promise<number> {
  const input = parseInput(listInput(), opts);
  return withTransport(opts, (t) => t.count(input.channel, input.state, { as: input.as }));
}

/** Finds a message in any state (of one channel, or of all), with its answer when there is one. */
export function show(opts: CommonOptions & { id: string; channel?: string | undefined }): Promise<FoundMessage> {
  if (opts.channel !== undefined) validateChannelName(opts.channel);
  return withTransport(opts, (t) => t.find(opts.id, opts.channel));
}

/** Moves every pending message of a channel to its archive with a reason; returns their ids. */
export async function purge(
  opts: CommonOptions & { channel: string; reason?: string | undefined; as?: string | undefined },
): Promise<string[]> {
  const channel = validateChannelName(opts.channel);
  const agent = await callerAgent(opts);
  return withTransport(opts, (t) => t.purge(channel, opts.reason ?? "purged", { as: opts.as }), agent);
}

export function schema(kind: "request" | "response"): unknown {
  return jsonSchemaFor(kind);
}
