/**
 * Per-channel policy, stored in `channels/<name>/channel.json` under `policy` and set with
 * `abq channel create|config`. Every field has a default, so seed-made channels (no file) work as is.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { defaultPolicy, type Policy, type PolicyInput, policySchema } from "../protocol/policy.ts";
import { publishFile } from "./files.ts";
import type { Queue } from "./paths.ts";

const cache = new Map<string, { at: number; policy: Policy }>();
/** A policy read is cached this long per process; `channel config` takes effect within it. */
const CACHE_MS = 2000;

export async function readPolicy(q: Queue, opts: { strict?: boolean } = {}): Promise<Policy> {
  const dir = q.subscriber === undefined ? q.dir : join(q.dir, "..", "..");
  const hit = cache.get(dir);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.policy;
  let policy = defaultPolicy();
  let problem: string | undefined;
  try {
    const raw = JSON.parse(await fs.readFile(join(dir, "channel.json"), "utf8")) as { policy?: unknown };
    const parsed = policySchema().safeParse(raw.policy ?? {});
    if (parsed.success) policy = parsed.data;
    else problem = parsed.error.issues[0]?.message ?? "invalid policy";
  } catch (err) {
    // No config (a seed-made channel): defaults. Unreadable or not JSON: a problem.
    if (errnoCode(err) !== "ENOENT") problem = err instanceof Error ? err.message : String(err);
  }
  // A claim must not fall back to defaults: the broken file may hold sender rules (an allowlist), and
  // defaults would deliver what they refuse. Other readers (sweep, status) go on with the defaults.
  if (problem !== undefined && opts.strict) {
    throw new AbqError(
      "E_UNSAFE",
      `${join(dir, "channel.json")} cannot be read (${firstLine(problem)}): not claiming`,
      {
        hint: "fix it, or set the policy again with: abq channel config",
      },
    );
  }
  if (problem === undefined) cache.set(dir, { at: Date.now(), policy });
  return policy;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 120);
}

/** Merges `changes` into the channel's stored policy (validated) and returns the result. */
export async function writePolicy(channelPath: string, changes: PolicyInput): Promise<Policy> {
  const file = join(channelPath, "channel.json");
  const raw = (await fs.readFile(file, "utf8").then(JSON.parse, () => ({}))) as Record<string, unknown>;
  const stored = { ...(raw["policy"] as object | undefined), ...changes };
  const merged = policySchema().safeParse(stored);
  if (!merged.success) throw new AbqError("E_USAGE", `invalid policy: ${merged.error.issues[0]?.message ?? "?"}`);
  // Only what was set is stored: a field left at its default follows the default of the abq that reads it.
  raw["policy"] = stored;
  await publishFile(join(channelPath, "tmp"), file, `${JSON.stringify(raw, null, 2)}\n`, {
    sync: false,
    replace: true,
  });
  cache.delete(channelPath);
  return merged.data;
}
