/**
 * Argument parsers shared by command modules: they turn flag text into numbers or fail with a usage error.
 * Every number has a ceiling: `--ttl 1e20` or `--timeout 99999999d` is a typo, and past the ceiling it
 * would overflow a timer (Node fires a delay over 2^31-1 ms at once) or a date instead of failing here.
 * Commander prefixes the message with the option's name, so the error names both the option and the limit.
 */
import { InvalidArgumentError } from "commander";
import { AbqError } from "../../protocol/errors.ts";

/** Longest wait: Node's timers hold at most 2^31-1 ms (24.8 days); a longer delay fires immediately. */
export const MAX_WAIT_S = 24 * 86_400;
/** Longest TTL, lease, backoff, retention or age: one year (shared with the library). */
export { MAX_SPAN_S } from "../../protocol/constants.ts";
import { MAX_SPAN_S } from "../../protocol/constants.ts";
/** Most of anything counted (list limits, attempts). */
export const MAX_COUNT = 1_000_000;
/** Most handlers or requests at once (`-j`): each is a process or an open request. */
export const MAX_JOBS = 1024;

/** A parser of durations in seconds ("90", "1.5", "10m", "7d"; fractions allowed) up to `max`. */
export function secondsUpTo(max: number): (value: string) => number {
  const toMs = durationUpTo(max);
  return (value) => toMs(value) / 1000;
}

/** A parser of positive whole numbers up to `max`. */
export function countUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
    if (n > max) throw new InvalidArgumentError(`'${value}' is more than the maximum, ${max}`);
    return n;
  };
}

/** A parser of durations, "90", "90s", "10m", "2h", "1d" → milliseconds, up to `maxS` seconds. */
export function durationUpTo(maxS: number): (value: string) => number {
  return (value) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
    // Plain numbers in any notation Number() reads (1e3) are seconds, so `1e20` meets the ceiling below.
    const plain = value.trim() !== "" && Number(value) >= 0 ? Number(value) : NaN;
    if (!m && !Number.isFinite(plain))
      throw new InvalidArgumentError(`'${value}' is not a duration (e.g. 90s, 10m, 2h, 1d)`);
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m?.[2] ?? "s") as "s"];
    const ms = (m ? Number(m[1]) : plain) * unit;
    if (ms > maxS * 1000) throw new InvalidArgumentError(`'${value}' is more than the maximum, ${days(maxS)}`);
    return ms;
  };
}

/** TTLs, leases, backoffs, retention: up to a year. */
export const parseSeconds = secondsUpTo(MAX_SPAN_S);
/** How long a command waits (`--timeout`, `--grace`): up to what a timer can hold. */
export const parseTimeout = secondsUpTo(MAX_WAIT_S);
export const parseCount = countUpTo(MAX_COUNT);
export const parseJobs = countUpTo(MAX_JOBS);
/** Ages and delays: up to a year. */
export const parseDuration = durationUpTo(MAX_SPAN_S);

/**
 * `watch --poll`: a plain number is milliseconds, as it always was (`--poll 200`); with a unit it is a
 * duration (`500ms`, `2s`). Whole milliseconds, at least 1, at most MAX_COUNT (about 16 minutes).
 */
export function parsePollMs(value: string): number {
  if (!/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/.test(value)) return parseCount(value);
  const ms = durationUpTo(MAX_WAIT_S)(value);
  if (!Number.isInteger(ms) || ms < 1) throw new InvalidArgumentError(`'${value}' is not a whole number of ms`);
  if (ms > MAX_COUNT) throw new InvalidArgumentError(`'${value}' is more than the maximum, ${MAX_COUNT}ms`);
  return ms;
}

/** ID_PATTERN of src/protocol/ids.ts, restated: that module loads ulid, which `abq --help` must not. */
const ID = /^req_[0-9a-f]{1,64}$/;

/** Fails with a usage error (exit 2) unless `id` is a message id: `../../x` must never reach a path. */
export function checkId(id: string): string {
  if (!ID.test(id)) throw new AbqError("E_USAGE", `'${id}' is not a message id (expected req_<hex>)`);
  return id;
}

function days(s: number): string {
  return s % 86_400 === 0 ? `${s / 86_400} days` : `${s}s`;
}
