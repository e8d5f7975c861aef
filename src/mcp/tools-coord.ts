/**
 * The coordination tools: abq_kv, abq_lock and abq_reserve, one tool each with an `op` argument (every
 * tool's definition costs the client context on every turn, so three tools, not fourteen). Conflicts
 * (a compare-and-set that lost, a held lock, an overlapping reservation) are tool errors with code
 * E_CONFLICT; a reservation check that finds conflicts is data (`ok: false`), as it answers a question.
 * Locks and reservations taken here are owned by this MCP server's process: they end when it does.
 */
import type { CommonOptions } from "../api/options.ts";
import { kvDel, kvGet, kvList, kvSet } from "../kv/kv.ts";
import { acquireLock, listLocks, releaseLock, renewLock } from "../lock/lock.ts";
import { checkReservations, listReservations, releaseReservations, reserve } from "../reserve/reserve.ts";
import { MAX_SPAN_S } from "../protocol/constants.ts";
import { AbqError } from "../protocol/errors.ts";
import * as z from "../protocol/zod.ts";
import { described as d } from "../protocol/zod.ts";
import type { ToolSet } from "./registry.ts";

const seconds = (text: string): z.ZodMiniOptional<z.ZodMiniNumber> =>
  d(z.optional(z.number().check(z.positive(), z.maximum(MAX_SPAN_S))), text);

const KvTool = z.strictObject({
  op: z.enum(["get", "set", "del", "ls"]),
  bucket: d(z.string(), "bucket (a-z 0-9 _ -)"),
  key: z.optional(z.string()),
  value: d(z.optional(z.string()), "for set"),
  if_revision: d(z.optional(z.int().check(z.nonnegative())), "set/del only if the key is at this revision"),
  if_absent: d(z.optional(z.boolean()), "set only if the key has no value"),
  ttl: seconds("seconds until the value expires"),
});

const LockTool = z.strictObject({
  op: z.enum(["acquire", "release", "renew", "list"]),
  name: z.optional(z.string()),
  token: d(z.optional(z.string()), "from acquire; fences release and renew"),
  ttl: seconds("seconds the hold lasts unless renewed (default 300)"),
  wait: d(z.optional(z.number().check(z.nonnegative(), z.maximum(600))), "seconds to wait for a held lock"),
});

const ReserveTool = z.strictObject({
  op: z.enum(["reserve", "release", "list", "check"]),
  globs: d(z.optional(z.array(z.string())), "paths relative to the repo: src/api/**"),
  paths: d(z.optional(z.array(z.string())), "check: these paths"),
  staged: d(z.optional(z.boolean()), "check: the files staged in git"),
  shared: d(z.optional(z.boolean()), "reserve shared, not exclusive"),
  ttl: seconds("seconds until it expires (default 3600)"),
  reason: z.optional(z.string()),
});

function need<T>(value: T | undefined, what: string, op: string): T {
  if (value === undefined) throw new AbqError("E_USAGE", `op ${op} needs ${what}`);
  return value;
}

export function addCoordTools(tools: ToolSet, common: CommonOptions): void {
  tools.add("abq_kv", {
    description:
      "Shared key-value state with revisions (like `abq kv`). set with if_revision/if_absent is compare-and-set " +
      "(E_CONFLICT when another write came first). Returns the entry {key, revision, value, …}; ls {entries}.",
    input: KvTool,
    run: async (a) => {
      const at = { ...common, bucket: a.bucket };
      if (a.op === "ls") return kvList(at);
      const key = need(a.key, "key", a.op);
      if (a.op === "get") return kvGet({ ...at, key });
      if (a.op === "del") return kvDel({ ...at, key, ifRevision: a.if_revision });
      const value = need(a.value, "value", a.op);
      return kvSet({ ...at, key, value, ifRevision: a.if_revision, ifAbsent: a.if_absent, ttl: a.ttl });
    },
  });
  tools.add("abq_lock", {
    description:
      "Named locks (like `abq lock`): acquire returns a token to pass to release/renew; E_CONFLICT when held " +
      "(or E_TIMEOUT after wait). Held by this server's process: freed if it dies. list shows holders.",
    input: LockTool,
    run: async (a, extra) => {
      if (a.op === "list") return { locks: await listLocks({ ...common, name: a.name }) };
      const name = need(a.name, "name", a.op);
      if (a.op === "acquire") return acquireLock({ ...common, name, ttl: a.ttl, wait: a.wait, signal: extra.signal });
      if (a.op === "release") return releaseLock({ ...common, name, token: need(a.token, "token", a.op) });
      return renewLock({ ...common, name, token: need(a.token, "token", a.op), ttl: a.ttl });
    },
  });
  tools.add("abq_reserve", {
    description:
      "File reservations (like `abq reserve`): reserve globs (exclusive unless shared; E_CONFLICT on overlap " +
      "with another agent's), release yours (all, or globs), list, or check paths/staged files: {ok, conflicts}.",
    input: ReserveTool,
    run: async (a) => {
      if (a.op === "list") return listReservations(common);
      if (a.op === "check") return checkReservations({ ...common, paths: a.paths, staged: a.staged });
      if (a.op === "release") return releaseReservations({ ...common, globs: a.globs });
      const globs = need(a.globs, "globs", a.op);
      return reserve({ ...common, globs, ttl: a.ttl, reason: a.reason, mode: a.shared ? "shared" : "exclusive" });
    },
  });
}
