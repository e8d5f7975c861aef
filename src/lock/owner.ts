/**
 * Who holds a lock or a reservation, and whether they still run. A pid alone is not enough (pids are
 * reused), so the owner also records its process's start time from /proc (Linux); a live process with the
 * same pid but another start time is someone else, and the owner counts as dead. Only knowable on the
 * same host: elsewhere (and for pid 0, an owner that is its lease alone) the expiry decides.
 */
import { readFileSync } from "node:fs";
import { HOST } from "../spool/lease.ts";
import { errnoCode } from "../protocol/errors.ts";

export interface Owner {
  agent: string;
  /** 0: no process owns it; it lasts until its expiry (a shell's `abq lock acquire`). */
  pid: number;
  host: string;
  /** The process's start time (clock ticks after boot, /proc/<pid>/stat), where the OS tells it. */
  started?: string | undefined;
}

export type Liveness = "alive" | "dead" | "unknown";

/** Field 22 of /proc/<pid>/stat, or undefined off Linux or when the process is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function makeOwner(agent: string, pid: number): Owner {
  return { agent, pid, host: HOST, ...(pid > 0 ? { started: processStart(pid) } : {}) };
}

export function liveness(owner: Owner): Liveness {
  if (owner.host !== HOST || !(owner.pid > 0)) return "unknown";
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if (errnoCode(err) !== "EPERM") return "dead";
  }
  if (owner.started === undefined) return "alive";
  const now = processStart(owner.pid);
  return now === undefined || now === owner.started ? "alive" : "dead";
}

/** "api/main (pid 4242 on host-a)", for messages. */
export function describeOwner(owner: Owner): string {
  return owner.pid > 0 ? `${owner.agent} (pid ${owner.pid} on ${owner.host})` : `${owner.agent} (on ${owner.host})`;
}
