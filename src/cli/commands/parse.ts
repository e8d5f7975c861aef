/** Argument parsers shared by command modules: they turn flag text into numbers or fail with a usage error. */
import { InvalidArgumentError } from "commander";

export function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`'${value}' is not a number of seconds (>= 0)`);
  }
  return n;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
  return n;
}

/** "90", "90s", "10m", "2h", "1d" → milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`'${value}' is not a duration (e.g. 90s, 10m, 2h, 1d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "s") as "s"];
  return Number(m[1]) * unit;
}
