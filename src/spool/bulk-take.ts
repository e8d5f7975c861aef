/**
 * Taking a claim back from its holder, synchronously, for a requeue of many claims (bulk-files.ts says
 * why synchronous). The same steps, in the same order, as lease.ts's revokeLease and retry.ts's
 * takeClaim: revoke the lease (a rename only one sweeper wins; for a claim without a lease file, create
 * one exclusively first), then rename the claim to its `.retry-` dot-name and drop the lease.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { randomHex } from "../protocol/random.ts";
import { removeFileSync, tryRenameSync, writeNewFileSync } from "./bulk-files.ts";
import { crashPoint } from "./faults.ts";
import { ensureSubdir, fileModeNow } from "./files.ts";
import { HOST, type Lease, leasePath } from "./lease.ts";
import type { Queue } from "./paths.ts";
import { takenPath } from "./taken.ts";
import { at } from "./transitions.ts";

/** readLease, synchronously: undefined when there is none or it is not JSON. */
export function readLeaseSync(q: Queue, id: string): Lease | undefined {
  try {
    return JSON.parse(readFileSync(leasePath(q, id), "utf8")) as Lease;
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** revokeLease, synchronously: of several concurrent revokers only one gets true. */
function revokeLeaseSync(q: Queue, id: string): boolean {
  const graveyard = join(q.dir, "leases", `.revoked-${id}-${process.pid}-${randomHex(3)}`);
  if (!tryRenameSync(leasePath(q, id), graveyard)) return false;
  removeFileSync(graveyard);
  return true;
}

/** One requeue run's taking over: `leases/` is made at most once per run. */
export class TakeOver {
  private leasesMade = false;
  private readonly q: Queue;

  constructor(q: Queue) {
    this.q = q;
  }

  /** Makes us the one requeuer of `id`: revoke its lease, or claim the lease slot when there is none. */
  async take(id: string, hasLease: boolean): Promise<boolean> {
    if (hasLease) return revokeLeaseSync(this.q, id);
    const marker = { id, token: "sweep", owner: { agent: "sweep", pid: process.pid, host: HOST } };
    const dir = join(this.q.dir, "leases");
    try {
      if (!this.leasesMade) await ensureSubdir(dir);
      this.leasesMade = true;
      writeNewFileSync(leasePath(this.q, id), JSON.stringify(marker), fileModeNow(dir));
    } catch {
      return false;
    }
    return revokeLeaseSync(this.q, id);
  }
}

/**
 * retry.ts's takeClaim, synchronously: the claim renamed to a dot-name only we know (the one winner of
 * several racing takers), then its lease dropped. A crash right after leaves it for `restoreRetries`.
 */
export function takeClaimSync(q: Queue, id: string): string | undefined {
  const mine = takenPath(q, id);
  if (!tryRenameSync(at.claimed(q, id), mine)) return undefined;
  crashPoint("release:taken");
  removeFileSync(leasePath(q, id));
  return mine;
}
