/**
 * retryOrDead (retry.ts) for a slice of taken claims at once: `abq requeue` and the sweep.
 *
 * Each message goes through retry.ts's steps in retry.ts's order; what changes is that a slice's
 * messages take each step together, so one fsync covers a whole slice where it covered one message:
 *
 *  1. (the caller) each claim taken: lease revoked, claim renamed to `processing/.retry-<id>.<pid>.<r>`,
 *     lease dropped (bulk-take.ts);
 *  2. each message's new copy (attempts + 1) written to `tmp/`;
 *  3. the copies fsynced together, each renamed over its dot-name, `processing/` fsynced once;
 *  4. each moved on: to `requests/`, to `delayed/` (due time on its mtime) or to `dead/` (then its reason);
 *     the folders moved into fsynced once;
 *  5. only then are the outcomes returned, for the caller to log and report.
 *
 * What a crash leaves: after 1 or 2, the dot-name with the old count (and perhaps a staged copy, which
 * the sweep removes after an hour); after 3, the dot-name with the new count; the sweep's
 * `restoreRetries` makes either pending again after a minute, so the attempt is counted at most once.
 * After 4, the message is in its new state (a dead letter perhaps without its reason). A message is in
 * one state folder at every moment. A failure (a full disk) gives that message back to `requests/` as
 * it then is and is reported after the rest of the slice is finished.
 */
import { basename, join } from "node:path";
import { readFileSync } from "node:fs";
import { errnoCode } from "../protocol/errors.ts";
import { backoffMs, type Policy } from "../protocol/policy.ts";
import { attemptsOf } from "../protocol/schema.ts";
import type { FailureInfo } from "../lifecycle/records.ts";
import { serialize } from "./deliver.ts";
import { ensureSubdir, stagingPath, fileModeNow } from "./files.ts";
import { fsyncAll, removeFileSync, syncDirs, tryRenameSync, writeNewFileSync } from "./bulk-files.ts";
import { deadLetterSync, delaySync, makePendingSync } from "./bulk-transitions.ts";
import type { Queue } from "./paths.ts";

export interface TakenClaim {
  id: string;
  /** Its dot-name in `processing/` (takeClaimSync). */
  mine: string;
  failure: FailureInfo;
}

export interface RetryDone {
  id: string;
  outcome: "requeued" | "delayed" | "dead";
  attempts: number;
}

interface Counted extends TakenClaim {
  attempts: number;
  staged?: string | undefined;
  fd?: number | undefined;
}

/** Steps 2–5 for `taken`; `error` is the first failure (its message was given back), if any. */
export async function retrySlice(
  q: Queue,
  taken: readonly TakenClaim[],
  policy: Policy,
  by: string,
  sync: boolean,
): Promise<{ done: RetryDone[]; error?: unknown }> {
  let error: unknown;
  const giveBack = (t: TakenClaim, err: unknown): void => {
    // A rename needs no space: never leave a message under its hidden dot-name, counted as claimed by nobody.
    try {
      makePendingSync(q, t.mine, t.id);
    } catch {
      // left for restoreRetries
    }
    error ??= err;
  };
  let counted = await stageCopies(q, taken, sync, giveBack);
  if (sync) {
    const failed = await fsyncAll(counted.flatMap((c) => (c.fd !== undefined ? [c.fd] : [])));
    counted = counted.filter((c) => {
      if (c.fd === undefined || !failed.has(c.fd)) return true;
      removeFileSync(c.staged!);
      giveBack(c, failed.get(c.fd));
      return false;
    });
  }
  counted = counted.filter((c) => {
    if (c.staged === undefined) return true; // not JSON: left as it is (the next claim rejects it)
    let err: unknown;
    try {
      if (tryRenameSync(c.staged, c.mine)) return true;
    } catch (e) {
      err = e;
    }
    removeFileSync(c.staged);
    giveBack(c, err);
    return false;
  });
  const processing = join(q.dir, "processing");
  if (sync && counted.length > 0) await syncDirs([processing]);
  const done = await moveOn(q, counted, policy, by, giveBack);
  if (sync && done.length > 0) {
    const into = { requeued: "requests", delayed: "delayed", dead: "dead" } as const;
    await syncDirs(done.map((d) => join(q.dir, into[d.outcome])));
  }
  return error === undefined ? { done } : { done, error };
}

/** Step 2: each message's copy with attempts + 1, staged in `tmp/` (kept open for its fsync). */
async function stageCopies(
  q: Queue,
  taken: readonly TakenClaim[],
  sync: boolean,
  giveBack: (t: TakenClaim, err: unknown) => void,
): Promise<Counted[]> {
  const tmp = join(q.dir, "tmp");
  let mode = fileModeNow(tmp);
  let tmpChecked = false;
  const counted: Counted[] = [];
  for (const t of taken) {
    try {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(readFileSync(t.mine, "utf8")) as Record<string, unknown>;
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        counted.push({ ...t, attempts: 1 });
        continue;
      }
      const attempts = attemptsOf(message) + 1;
      message["attempts"] = attempts;
      const staged = stagingPath(tmp, basename(t.mine));
      let fd: number | undefined;
      try {
        fd = writeNewFileSync(staged, serialize(message), mode, sync);
      } catch (err) {
        // Channels made by the seed or by hand have no tmp/: make it (once), as publishFile does.
        if (errnoCode(err) !== "ENOENT" || tmpChecked) throw err;
        tmpChecked = true;
        await ensureSubdir(tmp).catch(() => undefined);
        mode = fileModeNow(tmp);
        fd = writeNewFileSync(staged, serialize(message), mode, sync);
      }
      counted.push({ ...t, attempts, staged, fd });
    } catch (err) {
      giveBack(t, err);
    }
  }
  return counted;
}

/** Step 4: dead past max_attempts, else delayed by the backoff, else pending again. */
async function moveOn(
  q: Queue,
  counted: readonly Counted[],
  policy: Policy,
  by: string,
  giveBack: (t: TakenClaim, err: unknown) => void,
): Promise<RetryDone[]> {
  const dies = (c: Counted): boolean => c.attempts >= policy.max_attempts;
  if (counted.some(dies)) await ensureSubdir(join(q.dir, "dead"));
  if (counted.some((c) => !dies(c) && backoffMs(policy, c.attempts) > 0)) await ensureSubdir(join(q.dir, "delayed"));
  const deadMode = fileModeNow(join(q.dir, "dead"));
  const done: RetryDone[] = [];
  for (const c of counted) {
    try {
      const { id, mine, attempts } = c;
      if (dies(c)) {
        const note = { ...c.failure, attempts, max_attempts: policy.max_attempts, by };
        if (deadLetterSync(q, mine, id, note, deadMode)) done.push({ id, outcome: "dead", attempts });
        continue;
      }
      const wait = backoffMs(policy, attempts);
      if (wait > 0 ? delaySync(q, mine, id, Date.now() + wait) : makePendingSync(q, mine, id)) {
        done.push({ id, outcome: wait > 0 ? "delayed" : "requeued", attempts });
      }
    } catch (err) {
      giveBack(c, err);
    }
  }
  return done;
}
