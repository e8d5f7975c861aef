/**
 * Channel names, subscriber names and message ids, validated once where they enter (the public library
 * functions, each transport's public methods, names read from disk or the network) and passed below as
 * branded types. A `ChannelName` can only come from `channelName` or `isChannelName`, so code that takes
 * one never re-validates: a path or subject built from it cannot point outside its channel.
 */
import { AbqError } from "./errors.ts";
import { isId } from "./ids.ts";

export type ChannelName = string & { readonly __brand: "ChannelName" };
export type SubscriberName = string & { readonly __brand: "SubscriberName" };
export type MessageId = string & { readonly __brand: "MessageId" };

export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Is `name` a valid channel name? (The check `channelName` makes, without the error.) */
export function isChannelName(name: string): name is ChannelName {
  return CHANNEL_NAME_PATTERN.test(name) && !name.includes("..");
}

/** Subscriber names follow the channel name rules. */
export function isSubscriberName(name: string): name is SubscriberName {
  return CHANNEL_NAME_PATTERN.test(name) && !name.includes("..");
}

/** `name` as a channel name; E_BAD_NAME when it is not one. */
export function channelName(name: string): ChannelName {
  if (typeof name !== "string" || name.length === 0) {
    throw new AbqError("E_BAD_NAME", "channel name is empty", {
      hint: "use lowercase letters, digits, '.', '_' or '-', e.g. 'build-results'",
    });
  }
  if (!isChannelName(name)) {
    const shown = name.length > 70 ? `${name.slice(0, 67)}...` : name;
    throw new AbqError(
      "E_BAD_NAME",
      `invalid channel name '${shown}': use 1-64 of a-z 0-9 . _ - starting with a letter or digit, no '..'`,
    );
  }
  return name;
}

/** `name` as a topic subscriber's name; E_BAD_NAME when it is not one. */
export function subscriberName(name: string): SubscriberName {
  if (!isSubscriberName(name)) {
    throw new AbqError("E_BAD_NAME", `invalid subscriber name '${name.slice(0, 70)}': use 1-64 of a-z 0-9 . _ -`);
  }
  return name;
}

/** `id` as a message id; E_USAGE when it is not one. */
export function messageId(id: string): MessageId {
  if (!isId(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
  return id as MessageId;
}

/** The public name of `channelName` (exported from src/index.ts). */
export const validateChannelName: (name: string) => ChannelName = channelName;
