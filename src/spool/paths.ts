/**
 * Where things live on disk. Every path into the bus is built here, from a validated channel name, so no
 * argument can point outside `$ABQ_HOME` (the seed's `channel create ../../x` escaped it).
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { AbqError } from "../protocol/errors.ts";

export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

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
  const fromEnv = process.env["ABQ_HOME"];
  const home = opts.home ?? (fromEnv !== undefined && fromEnv !== "" ? fromEnv : join(homedir(), ".abq"));
  return resolve(home);
}

export function validateChannelName(name: string): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new AbqError("E_BAD_NAME", "channel name is empty", {
      hint: "use lowercase letters, digits, '.', '_' or '-', e.g. 'build-results'",
    });
  }
  if (!CHANNEL_NAME_PATTERN.test(name) || name.includes("..")) {
    const shown = name.length > 70 ? `${name.slice(0, 67)}...` : name;
    throw new AbqError(
      "E_BAD_NAME",
      `invalid channel name '${shown}': use 1-64 of a-z 0-9 . _ - starting with a letter or digit, no '..'`,
    );
  }
  return name;
}

export function channelsDir(home: string): string {
  return join(home, "channels");
}

export function channelDir(home: string, name: string): string {
  return join(channelsDir(home), validateChannelName(name));
}

export function registryPath(home: string): string {
  return join(home, "registry.json");
}

/**
 * One queue: a channel's own folders, or a topic subscriber's private copy of them
 * (`channels/<topic>/subscribers/<name>/`). Every spool operation works on a queue.
 */
export interface Queue {
  channel: string;
  subscriber?: string | undefined;
  /** Folder holding requests/, processing/, responses/, archive/, tmp/, rejected/. */
  dir: string;
}

export function queueOf(home: string, channel: string, subscriber?: string): Queue {
  const base = channelDir(home, channel);
  if (subscriber === undefined) return { channel, dir: base };
  return { channel, subscriber, dir: join(base, "subscribers", validateSubscriberName(subscriber)) };
}

export function validateSubscriberName(name: string): string {
  if (!CHANNEL_NAME_PATTERN.test(name) || name.includes("..")) {
    throw new AbqError("E_BAD_NAME", `invalid subscriber name '${name.slice(0, 70)}': use 1-64 of a-z 0-9 . _ -`);
  }
  return name;
}
