/**
 * Leases written before the claim (lifecycle step 2), so a claimer killed between its claim rename and its
 * lease is known by name at once, instead of the claim looking foreign and waiting out a whole lease.
 *
 * A claimer writes its lease to `leases/.claiming-<id>-<pid>-<rand>` first, renames the request into
 * `processing/`, then renames the staged lease to `leases/<id>.json`: the same writes as before, in a
 * different order, so a claim costs nothing more. If it loses the claim race it deletes its staged file.
 *
 * What a crash leaves, and what the sweep does with it:
 * - killed before the claim rename: a staged file for a message it never claimed. Removed once its owner
 *   is gone (or, from another host, after an hour).
 * - killed after the claim rename: a claim with no lease but a staged one naming the dead owner. The sweep
 *   takes it back at once ("its claimer died before writing its lease"); the TTL plays no part.
 * - a claim with neither (a seed-protocol worker, which writes no lease) stays foreign: it counts as leased
 *   from the claim's ctime for the channel's lease time, as before.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { randomHex } from "../protocol/random.ts";
import type { Lease, LeaseOwner } from "../lifecycle/records.ts";
import { ensureSubdir, listDir, pathExists, publishFile, writeNewFile } from "./files.ts";
import type { Queue } from "./paths.ts";

const PREFIX = ".claiming-";
/** A staged lease only speaks for a claim made within this long after it was written. */
const CLAIM_WINDOW_MS = 60_000;

export interface StagedLease {
  lease: Lease;
  path: string;
}

const leaseDirs = new Set<string>();

/** Writes the lease a claim of `id` will carry, before the claim is made. */
export async function stageLease(q: Queue, id: string, owner: LeaseOwner, leaseS: number): Promise<StagedLease> {
  const now = Date.now();
  const lease: Lease = {
    id,
    token: randomHex(8),
    owner,
    claimed_at: new Date(now).toISOString(),
    deadline: new Date(now + leaseS * 1000).toISOString(),
    lease_s: leaseS,
    attempt: 1,
  };
  const dir = join(q.dir, "leases");
  const path = join(dir, `${PREFIX}${id}-${owner.pid}-${randomHex(3)}`);
  const data = `${JSON.stringify(lease, null, 2)}\n`;
  if (!leaseDirs.has(q.dir)) {
    await ensureSubdir(dir);
    leaseDirs.add(q.dir); // one mkdir per queue per process, not one per claim
  }
  try {
    await writeNewFile(path, data, false);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
    await ensureSubdir(dir); // the channel was re-created since we cached its folder
    await writeNewFile(path, data, false);
  }
  return { lease, path };
}

/** Makes the staged lease the claim's lease: a rename, or a rewrite when the attempt number differs. */
export async function commitLease(q: Queue, staged: StagedLease, attempt: number): Promise<Lease> {
  const target = join(q.dir, "leases", `${staged.lease.id}.json`);
  if (attempt === staged.lease.attempt) {
    await fs.rename(staged.path, target);
    return staged.lease;
  }
  const lease = { ...staged.lease, attempt };
  await publishFile(join(q.dir, "tmp"), target, `${JSON.stringify(lease, null, 2)}\n`, {
    sync: false,
    replace: true,
  });
  await discardStagedLease(staged);
  return lease;
}

export async function discardStagedLease(staged: StagedLease | undefined): Promise<void> {
  if (staged) await fs.removeFile(staged.path).catch(() => undefined);
}

/** The staged leases in a queue, by message id (one listing of `leases/`). */
export async function stagedLeases(q: Queue): Promise<Map<string, StagedLease[]>> {
  const found = new Map<string, StagedLease[]>();
  for (const name of await listDir(join(q.dir, "leases"))) {
    if (!name.startsWith(PREFIX)) continue;
    const path = join(q.dir, "leases", name);
    try {
      const lease = JSON.parse(await fs.readFile(path, "utf8")) as Lease;
      if (typeof lease.id !== "string" || typeof lease.owner?.pid !== "number") continue;
      found.set(lease.id, [...(found.get(lease.id) ?? []), { lease, path }]);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
  }
  return found;
}

/**
 * The staged lease that speaks for a claim without a lease: written before the claim (a claim renames
 * after staging) and not long before it, so an old leftover never vouches for a later, foreign claim.
 */
export function stagedOwnerOf(candidates: StagedLease[] | undefined, claimCtimeMs: number): StagedLease | undefined {
  return candidates?.find((s) => {
    const staged = Date.parse(s.lease.claimed_at);
    return staged <= claimCtimeMs + 1000 && claimCtimeMs - staged < CLAIM_WINDOW_MS;
  });
}

/**
 * Removes staged leases that no longer speak for anything: their owner is gone (this host) or they are
 * older than `maxAgeMs`, and the claim they were for has a lease of its own or was never made.
 */
export async function removeStaleStaged(
  q: Queue,
  now: number,
  maxAgeMs: number,
  alive: (owner: LeaseOwner) => boolean | undefined,
): Promise<number> {
  let removed = 0;
  for (const list of (await stagedLeases(q)).values()) {
    for (const s of list) {
      const old = now - Date.parse(s.lease.claimed_at) > maxAgeMs;
      if (!old && alive(s.lease.owner) !== false) continue;
      // Still the only word on a claim's owner (its takeover failed or has not run): keep it.
      const claim = await fs.stat(join(q.dir, "processing", `${s.lease.id}.json`)).catch(() => undefined);
      const leased = await pathExists(join(q.dir, "leases", `${s.lease.id}.json`));
      if (claim && !leased && stagedOwnerOf([s], claim.ctimeMs)) continue;
      await discardStagedLease(s);
      removed++;
    }
  }
  return removed;
}
