/**
 * Message ids.
 *
 * Ours are a ULID written in lowercase hex: `req_` + 12 hex digits of Unix milliseconds + 20 hex digits of
 * randomness (monotonic within a process). The seed's ids are `req_` + 12 hex digits of Unix milliseconds +
 * 10 random hex digits. Both therefore match the seed schema's `^req_[0-9a-f]+$`, and both sort by send time
 * when compared as plain strings, so a folder listing sorted by name is a queue in send order even when seed
 * and abq senders share a channel.
 */
import { randomByte } from "./random.ts";
import { monotonicFactory, ulidToUUID } from "ulid";

/** Ids we accept from disk or the command line: the seed's pattern, with a length cap to keep paths sane. */
export const ID_PATTERN = /^req_[0-9a-f]{1,64}$/;
/** Lease tokens as recv prints them (spool: hex; JetStream: a sequence). Never a path: no `/`. */
export const LEASE_TOKEN_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

let factory: ((seedTime?: number) => string) | undefined;

// ulid's default generator reads globalThis.crypto, whose first use loads Node's whole WebCrypto layer;
// random.ts gives the same kernel CSPRNG bytes for a fraction of the cost.
function randomByteFraction(): number {
  return randomByte() / 256;
}

export function newId(now: number = Date.now()): string {
  factory ??= monotonicFactory(randomByteFraction);
  const hex = ulidToUUID(factory(now)).replace(/-/g, "").toLowerCase();
  return `req_${hex}`;
}

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Send time encoded in an id (ours or the seed's), or undefined when the id carries none. */
export function idTime(id: string): number | undefined {
  if (!isId(id) || id.length < 4 + 12) return undefined;
  const ms = Number.parseInt(id.slice(4, 16), 16);
  return Number.isFinite(ms) ? ms : undefined;
}
