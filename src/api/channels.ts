/**
 * Channels and views: the calls behind `abq init`, `abq channel …`, `abq status`, `abq ls`, `abq show`,
 * `abq purge` and `abq schema`.
 */
import { resolveAddress } from "../identity/address.ts";
import { channelName, subscriberName } from "../protocol/names.ts";
import { jsonSchemaFor } from "../protocol/json-schema.ts";
import { defaultPolicy, type Policy, type PolicyInput } from "../protocol/policy.ts";
import type { ChannelInfo, ChannelStatus, FoundMessage, ListEntry } from "../lifecycle/transport.ts";
import { capable } from "../lifecycle/transport.ts";
import { type CommonOptions, listInput, parseInput, withCapable, withTransport, callerAgent } from "./options.ts";
import { readSpilled } from "../attach/api.ts";

export function init(opts: CommonOptions = {}): Promise<{ home: string; created: boolean }> {
  return withCapable(opts, "admin", (t) => t.init());
}

export function createChannel(
  opts: CommonOptions & {
    name: string;
    description?: string | undefined;
    /** Make it a topic: named subscribers each get their own copy. Default: false. */
    topic?: boolean | undefined;
  },
): Promise<{ info: ChannelInfo; created: boolean }> {
  const name = channelName(opts.name);
  return withCapable(opts, "admin", (t) => t.createChannel(name, { description: opts.description, topic: opts.topic }));
}

/** Changes a channel's supervision policy (max_attempts, backoff_s, lease_s, ttl_s, retain_s, …). */
export function configureChannel(opts: CommonOptions & { name: string; policy: PolicyInput }): Promise<Policy> {
  const name = channelName(opts.name);
  return withCapable(opts, "supervise", (t) => t.configure(name, opts.policy));
}

/** A channel's policy, defaults filled in. */
export function channelPolicy(opts: CommonOptions & { name: string }): Promise<Policy> {
  const name = channelName(opts.name);
  return withTransport(opts, (t) =>
    t.capabilities.has("admin") ? capable(t, "admin").policy(name) : Promise.resolve(defaultPolicy()),
  );
}

/** Subscribes `name` to a topic (idempotent): from now on it gets its own copy of every message. */
export function subscribe(opts: CommonOptions & { topic: string; name: string }): Promise<{ created: boolean }> {
  const topic = channelName(opts.topic);
  const name = subscriberName(opts.name);
  return withCapable(opts, "topics", (t) => t.subscribe(topic, name));
}

/** Removes a subscriber and its copies. */
export function unsubscribe(opts: CommonOptions & { topic: string; name: string }): Promise<void> {
  const topic = channelName(opts.topic);
  const name = subscriberName(opts.name);
  return withCapable(opts, "topics", (t) => t.unsubscribe(topic, name));
}

export function listChannels(opts: CommonOptions = {}): Promise<ChannelInfo[]> {
  return withCapable(opts, "admin", (t) => t.listChannels());
}

export function channelInfo(opts: CommonOptions & { name: string }): Promise<ChannelInfo & { status: ChannelStatus }> {
  const name = channelName(opts.name);
  return withCapable(opts, "admin", (t) => t.channelInfo(name));
}

/** Deletes a channel and everything in it; returns its counts just before. */
export function removeChannel(opts: CommonOptions & { name: string }): Promise<ChannelStatus> {
  const name = channelName(opts.name);
  return withCapable(opts, "admin", (t) => t.removeChannel(name));
}

export function status(opts: CommonOptions = {}): Promise<ChannelStatus[]> {
  return withCapable(opts, "inspect", (t) => t.status());
}

export interface ListOptions extends CommonOptions {
  channel: string;
  /** A state word from `describeListStates()` (src/lifecycle/states.ts), e.g. requests, delayed, dead. Default: requests. */
  state?: string | undefined;
  /** Most entries to return. Default: 20. */
  limit?: number | undefined;
  /** Oldest first instead of newest first. Default: false. */
  oldestFirst?: boolean | undefined;
  /** A topic subscriber's copies instead of the shared queue. */
  as?: string | undefined;
}

export async function list(opts: ListOptions): Promise<ListEntry[]> {
  const input = parseInput(listInput(), { ...opts, channel: await resolveAddress(opts.channel, opts) });
  return withCapable(opts, "inspect", (t) =>
    t.list(input.channel, input.state, { limit: input.limit, oldestFirst: input.oldestFirst, as: input.as }),
  );
}

export async function count(opts: ListOptions): Promise<number> {
  const input = parseInput(listInput(), { ...opts, channel: await resolveAddress(opts.channel, opts) });
  return withCapable(opts, "inspect", (t) => t.count(input.channel, input.state, { as: input.as }));
}

/** Finds a message in any state (of one channel, or of all), with its answer when there is one. */
export async function show(opts: CommonOptions & { id: string; channel?: string | undefined }): Promise<FoundMessage> {
  const channel = opts.channel !== undefined ? channelName(await resolveAddress(opts.channel, opts)) : undefined;
  // Content or an answer that spilled into an attachment is read back whole, as recv and ask do.
  return readSpilled(await withCapable(opts, "inspect", (t) => t.find(opts.id, channel)), opts);
}

/** Moves every pending message of a channel to its archive with a reason; returns their ids. */
export async function purge(
  opts: CommonOptions & { channel: string; reason?: string | undefined; as?: string | undefined },
): Promise<string[]> {
  const channel = channelName(await resolveAddress(opts.channel, opts));
  const agent = await callerAgent(opts);
  return withCapable(opts, "admin", (t) => t.purge(channel, opts.reason ?? "purged", { as: opts.as }), agent);
}

export function schema(kind: "request" | "response"): unknown {
  return jsonSchemaFor(kind);
}
