/**
 * Random bytes and hashes without loading node:crypto up front. Loading node:crypto costs ~2 ms (it
 * brings all of Node's crypto layer), and a CLI call usually needs only ~20 random bytes for an id and a
 * staging-file name. Those come from the kernel's CSPRNG directly (/dev/urandom, the same source
 * node:crypto seeds from), read 256 bytes at a time; node:crypto is loaded when something really needs
 * it (hashes, signatures) or where /dev/urandom cannot be opened.
 */
import type * as ChildProcess from "node:child_process";
import type * as Crypto from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

/** node:crypto, loaded on first use. */
export function nodeCrypto(): typeof Crypto {
  return process.getBuiltinModule("node:crypto");
}

/**
 * node:child_process, loaded on first use: at start-up it costs a few ms (with net and dgram) of every
 * command, and only share, reserve and lock run spawn anything.
 */
export function nodeChildProcess(): typeof ChildProcess {
  return process.getBuiltinModule("node:child_process");
}

/** A promise that resolves after `ms` (node:timers/promises, which loads more than this needs). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

const pool = Buffer.alloc(256);
let used = pool.length;

function refill(): void {
  used = 0;
  try {
    const fd = openSync("/dev/urandom", "r");
    try {
      if (readSync(fd, pool, 0, pool.length, null) === pool.length) return;
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/urandom (a sandbox, another OS): the next line covers it
  }
  nodeCrypto().randomFillSync(pool);
}

/** One byte from the CSPRNG. */
export function randomByte(): number {
  if (used === pool.length) refill();
  return pool[used++] ?? 0;
}

/** `n` bytes from the CSPRNG (a copy; callers may keep it). */
export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = randomByte();
  return out;
}

/** `n` random bytes as lowercase hex (2n characters). */
export function randomHex(n: number): string {
  return randomBytes(n).toString("hex");
}

/** SHA-256 of `text`, lowercase hex. */
export function sha256Hex(text: string): string {
  return nodeCrypto().createHash("sha256").update(text).digest("hex");
}
