/**
 * Where things live on disk. Every path into the bus is built here, from a validated channel name (a
 * `ChannelName`, see src/protocol/names.ts), so no argument can point outside `$ABQ_HOME` (the seed's
 * `channel create ../../x` escaped it).
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import type { ChannelName, SubscriberName } from "../protocol/names.ts";

/** The state folders of a channel (see the lifecycle in src/protocol/index.ts). */
export const STATE_DIRS = ["requests", "processing", "responses", "archive"] as const;
export const EXTRA_DIRS = ["tmp", "rejected"] as const;
export type StateDir = (typeof STATE_DIRS)[number] | "rejected";

/** Options every library call accepts. */
export interface HomeOptions {
  /** Bus directory. Default: `$ABQ_HOME`, else `~/.abq`. */
  home?: string | undefined;
}

export function resolveHome(opts: HomeOptions = {}): string {
  // An empty --home would resolve to the current folder and make it a bus: refuse it. (An empty
  // ABQ_HOME counts as unset, as shells leave variables empty to unset them.)
  if (opts.home === "")
    throw new AbqError("E_USAGE", "the bus home (--home) is empty", {
      hint: "give a folder, or leave it out for ~/.abq",
    });
  const fromEnv = process.env["ABQ_HOME"];
  const home = opts.home ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".abq"));
  return resolve(home);
}

export function channelsDir(home: string): string {
  return join(home, "channels");
}

export function channelDir(home: string, name: ChannelName): string {
  return join(channelsDir(home), name);
}

export function registryPath(home: string): string {
  return join(home, "registry.json");
}

/**
 * One queue: a channel's own folders, or a topic subscriber's private copy of them
 * (`channels/<topic>/subscribers/<name>/`). Every spool operation works on a queue.
 */
export interface Queue {
  channel: ChannelName;
  subscriber?: SubscriberName | undefined;
  /** Folder holding requests/, processing/, responses/, archive/, tmp/, rejected/. */
  dir: string;
}

export function queueOf(home: string, channel: ChannelName, subscriber?: SubscriberName): Queue {
  const base = channelDir(home, channel);
  if (subscriber === undefined) return { channel, dir: base };
  return { channel, subscriber, dir: join(base, "subscribers", subscriber) };
}

/** How a claim being released, retried or terminated is named in `processing/` while it moves on (retry.ts). */
export const RETRY_PREFIX = ".retry-";
