/**
 * Leases: who holds a claimed message, until when. A lease is `leases/<id>.json` beside `processing/`
 * (not inside it, so the seed's tools still see one file per claimed message there):
 *
 *   { id, token, owner: {agent, pid, host}, claimed_at, deadline, lease_s, attempt }
 *
 * The token fences completion: a worker answers with the token it got, and an answer whose token no
 * longer matches the lease (the sweep requeued the message and someone else holds it now) is refused
 * and kept aside in `late/`, not lost. Revoking a lease is a rename (one winner among sweepers).
 * A lease is staged before the claim and renamed into place after it (staged-lease.ts), so a claimer
 * killed in between is still known. A claim with no lease at all (a seed worker's) counts as leased
 * from the claim's ctime for the channel's lease length.
 */
import { randomHex } from "../protocol/random.ts";
import * as fs from "../fs-promised.ts";
import { hostname } from "node:os";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { pathExists, publishFile, tryRename } from "./files.ts";
import type { Queue } from "./paths.ts";

import type { Lease, LeaseOwner } from "../lifecycle/records.ts";

export type { Lease, LeaseOwner };
export const HOST = hostname();

export function leasePath(q: Queue, id: string): string {
  return join(q.dir, "leases", `${id}.json`);
}

export async function readLease(q: Queue, id: string): Promise<Lease | undefined> {
  try {
    return JSON.parse(await fs.readFile(leasePath(q, id), "utf8")) as Lease;
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Extends a lease we still hold; false when it was revoked or taken over (the token differs). */
export async function renewLease(
  q: Queue,
  id: string,
  token: string,
  extra: { handlerPgid?: number | undefined } = {},
): Promise<Lease | undefined> {
  const lease = await readLease(q, id);
  if (lease?.token !== token) return undefined;
  const renewed: Lease = {
    ...lease,
    deadline: new Date(Date.now() + lease.lease_s * 1000).toISOString(),
    ...(extra.handlerPgid !== undefined ? { handler_pgid: extra.handlerPgid } : {}),
  };
  await publishFile(join(q.dir, "tmp"), leasePath(q, id), `${JSON.stringify(renewed, null, 2)}\n`, {
    sync: false,
    replace: true,
  });
  // Answered or released meanwhile (by another process holding our token, e.g. the CLI): do not leave a
  // lease behind for a message that is no longer claimed.
  if (!(await pathExists(join(q.dir, "processing", `${id}.json`)))) {
    await fs.removeFile(leasePath(q, id));
    return undefined;
  }
  return renewed;
}

/** Takes the lease away (for a requeue). Only one of several concurrent revokers gets true. */
export async function revokeLease(q: Queue, id: string): Promise<boolean> {
  const graveyard = join(q.dir, "leases", `.revoked-${id}-${process.pid}-${randomHex(3)}`);
  if (!(await tryRename(leasePath(q, id), graveyard))) return false;
  await fs.removeFile(graveyard);
  return true;
}

export async function dropLease(q: Queue, id: string): Promise<void> {
  await fs.removeFile(leasePath(q, id));
}

/**
 * Stops what a dead owner left running: its handler's process group (on this host only). Its work is
 * about to be handed to someone else, and an orphaned handler would do it a second time.
 */
export function stopOrphanedHandler(lease: Lease): void {
  if (lease.handler_pgid === undefined || lease.owner.host !== HOST) return;
  try {
    process.kill(-lease.handler_pgid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Is the lease's owner still running? Only knowable on this host; elsewhere the deadline decides. Pid 0
 * is a claim held by its lease alone (a shell's `abq recv`: the shell exits at once, the claim must not).
 */
export function ownerAlive(owner: LeaseOwner): boolean | undefined {
  if (owner.host !== HOST || !(owner.pid > 0)) return undefined;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM"; // exists, owned by someone else
  }
}
