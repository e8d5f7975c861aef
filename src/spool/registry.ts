/**
 * Channels: create, list, inspect, remove, and the seed's `registry.json`.
 *
 * The channel folders are the source of truth. `registry.json` is derived from them after every change
 * and written atomically, so concurrent `channel create` calls cannot lose a channel: the worst a race
 * can do is leave the file briefly behind the folders, and the next change (or `abq init`) heals it.
 */
import * as fs from "../fs-promised.ts";
import { dirname, join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/constants.ts";
import { formatTimestamp } from "../protocol/timestamp.ts";
import type { ChannelInfo } from "../lifecycle/transport.ts";
import { DIR_MODE, ensureDir, FILE_MODE, listDir, pathExists, publishFile } from "./files.ts";
import {
  type ChannelName,
  channelName,
  isChannelName,
  isSubscriberName,
  type SubscriberName,
} from "../protocol/names.ts";
import { assertSafeDir, assertSafeHome } from "./safety.ts";
import { channelDir, channelsDir, EXTRA_DIRS, type Queue, registryPath, STATE_DIRS } from "./paths.ts";

/** A channel as the spool reads it: its names are checked (folders with invalid names are skipped). */
export interface SpoolChannelInfo extends ChannelInfo {
  name: ChannelName;
  subscribers?: SubscriberName[] | undefined;
}

const CONFIG_FILE = "channel.json";
const DEFAULT_CHANNELS = [{ name: channelName("broadcast"), description: "Global broadcast channel" }];

export async function initHome(home: string): Promise<{ home: string; created: boolean }> {
  const created = !(await pathExists(join(home, "channels")));
  await ensureDir(home);
  await fs.chmod(home, DIR_MODE);
  await ensureDir(channelsDir(home));
  await assertSafeHome(home); // the chmod fixed the home's mode; links and strangers' folders stay refused
  for (const { name, description } of DEFAULT_CHANNELS) {
    await createChannel(home, name, { description, topic: true, quiet: true });
  }
  await writeRegistry(home);
  return { home, created };
}

export async function createChannel(
  home: string,
  name: ChannelName,
  opts: { description?: string | undefined; topic?: boolean | undefined; quiet?: boolean } = {},
): Promise<{ info: SpoolChannelInfo; created: boolean }> {
  const dir = channelDir(home, name);
  const created = !(await pathExists(join(dir, "requests")));
  await ensureDir(home);
  // The registry is staged in the home's tmp/: refuse a linked one before creating anything, so a
  // refused create leaves no channel behind.
  if (await pathExists(join(home, "tmp"))) await assertSafeDir(join(home, "tmp"), "folder");
  for (const sub of [...STATE_DIRS, ...EXTRA_DIRS]) await ensureDir(join(dir, sub));
  let info = await readChannelInfo(home, name);
  const kind = opts.topic === true ? "topic" : info.kind; // --topic turns a queue into a topic, never back
  if (created || kind !== info.kind || (opts.description !== undefined && opts.description !== info.description)) {
    const description = opts.description ?? info.description;
    info = { name, kind, description, created: info.created ?? formatTimestamp() };
    // A config write racing another create of the same channel is harmless: both describe the same channel.
    const previous = (await fs.readFile(join(dir, CONFIG_FILE), "utf8").then(JSON.parse, () => ({}))) as object;
    const config = { ...previous, name, kind, description, created: info.created }; // keeps `policy`
    await publishFile(join(dir, "tmp"), join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`, {
      sync: false,
      replace: true,
    });
  }
  if (!opts.quiet) await writeRegistry(home);
  return { info, created };
}

/** Throws E_NO_CHANNEL (naming `abq channel create`) unless the channel exists. */
export async function requireChannel(home: string, name: ChannelName): Promise<string> {
  const dir = channelDir(home, name);
  if (!(await pathExists(join(dir, "requests")))) throw noChannel(name);
  return dir;
}

/** Throws unless the queue exists: E_NO_CHANNEL for a channel, or for a topic subscriber never subscribed. */
export async function requireQueue(q: Queue): Promise<void> {
  if (await pathExists(join(q.dir, "requests"))) return;
  if (q.subscriber === undefined || !(await pathExists(join(dirname(dirname(q.dir)), "requests")))) {
    throw noChannel(q.channel);
  }
  throw new AbqError("E_NO_CHANNEL", `'${q.subscriber}' is not subscribed to '${q.channel}'`, {
    hint: `subscribe first: abq subscribe ${q.channel} ${q.subscriber}`,
  });
}

export function noChannel(name: string): AbqError {
  return new AbqError("E_NO_CHANNEL", `no channel '${name}'`, {
    hint: `create it with: abq channel create ${name}`,
  });
}

export async function readChannelInfo(home: string, name: ChannelName): Promise<SpoolChannelInfo> {
  try {
    const raw = JSON.parse(
      await fs.readFile(join(channelDir(home, name), CONFIG_FILE), "utf8"),
    ) as Partial<ChannelInfo>;
    const kind = raw.kind === "topic" ? "topic" : "queue";
    const subscribers = kind === "topic" ? await listSubscribers(channelDir(home, name)) : undefined;
    return { name, kind, description: raw.description, created: raw.created, subscribers };
  } catch {
    // Channels made by the seed (or by hand with mkdir) have no config file; they are plain queues.
    return { name, kind: "queue" };
  }
}

/** A topic's subscribers: the folders under `subscribers/`, skipping dot-names and names that are not valid. */
export async function listSubscribers(topicDir: string): Promise<SubscriberName[]> {
  return (await listDir(join(topicDir, "subscribers"))).filter(isSubscriberName).sort();
}

/** Every channel; folders whose names are not valid channel names are skipped. */
export async function listChannels(home: string): Promise<SpoolChannelInfo[]> {
  const names = (await listDir(channelsDir(home))).filter(isChannelName);
  const infos: SpoolChannelInfo[] = [];
  for (const name of names.sort()) {
    if (await pathExists(join(channelDir(home, name), "requests"))) infos.push(await readChannelInfo(home, name));
  }
  return infos;
}

export async function removeChannel(home: string, name: ChannelName): Promise<void> {
  const dir = await requireChannel(home, name);
  // Rename first so a half-finished delete never looks like a live channel, then delete the renamed copy.
  const doomed = join(channelsDir(home), `.removing-${name}-${process.pid}-${Date.now()}`);
  try {
    await fs.rename(dir, doomed);
    await fs.rm(doomed, { recursive: true, force: true });
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw noChannel(name);
    throw ioError(`cannot remove channel ${name}`, err);
  }
  await writeRegistry(home);
}

/**
 * Rewrites `registry.json` from the folders, keeping fields other tools put there. If the folders changed
 * while we wrote (a concurrent create or rm), write again, so the last writer's file is not stale.
 */
export async function writeRegistry(home: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const written = await writeRegistryOnce(home);
    const now = (await listChannels(home)).map((c) => c.name).join("\n");
    if (now === written) return;
  }
}

async function writeRegistryOnce(home: string): Promise<string> {
  const path = registryPath(home);
  let existing: Record<string, unknown>;
  try {
    existing = JSON.parse(await fs.readFile(path, "utf8")) as Record<string, unknown>;
  } catch {
    existing = {}; // missing or unreadable: rebuild it from the folders
  }
  const channels: Record<string, unknown> = {};
  for (const info of await listChannels(home)) {
    channels[info.name] = {
      type: info.kind === "topic" ? "pubsub" : "queue",
      ...(info.description !== undefined ? { description: info.description } : {}),
      ...(info.created !== undefined ? { created: info.created } : {}),
    };
  }
  const registry = {
    ...existing,
    version: PROTOCOL_VERSION,
    created: typeof existing["created"] === "string" ? existing["created"] : formatTimestamp(),
    agents: typeof existing["agents"] === "object" && existing["agents"] !== null ? existing["agents"] : {},
    channels,
  };
  const tmpDir = join(home, "tmp");
  await ensureDir(tmpDir);
  await assertSafeDir(tmpDir, "folder"); // a linked tmp/ would stage the registry outside the bus
  await publishFile(tmpDir, path, `${JSON.stringify(registry, null, 2)}\n`, { sync: false, replace: true });
  await fs.chmod(path, FILE_MODE).catch(() => undefined);
  return Object.keys(channels).join("\n");
}
