/**
 * `abq lock run <name> -- CMD…`: hold a lock exactly while a command runs. The lock's owner is this
 * process, so if abq itself is killed the next acquirer sees a dead owner, kills the command's process
 * group (recorded in the lock) and takes over; if the command crashes, abq releases the lock and exits
 * with the command's status. The hold is renewed every third of its TTL while the command runs; if it is
 * ever lost (it cannot be while we live, short of someone deleting the record), the command is stopped.
 */
import { constants } from "node:os";
import type { CommonOptions } from "../api/options.ts";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { nodeChildProcess } from "../protocol/random.ts";
import { acquireLock, type LockHold, releaseLock, renewLock } from "./lock.ts";

export interface RunLockedOptions extends CommonOptions {
  name: string;
  /** The command and its arguments (run without a shell). */
  command: string[];
  ttl?: number | undefined;
  wait?: number | undefined;
  /** Called once the lock is held, before the command starts. */
  onAcquired?: ((hold: LockHold) => void) | undefined;
  /** Told about problems that do not stop the run (a failed renewal). */
  onWarning?: ((text: string) => void) | undefined;
}

export interface RunLockedResult {
  hold: LockHold;
  /** The command's exit code; 128 + n when it was killed by signal n (as shells report it). */
  exitCode: number;
  signal: NodeJS.Signals | null;
}

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export async function runLocked(opts: RunLockedOptions): Promise<RunLockedResult> {
  const [file, ...args] = opts.command;
  if (file === undefined || file === "") throw new AbqError("E_USAGE", "give the command to run after --");
  const hold = await acquireLock({ ...opts, ownerPid: process.pid });
  opts.onAcquired?.(hold);
  const common = { home: opts.home, url: opts.url, fsync: opts.fsync, cwd: opts.cwd };
  // Its own process group, so a takeover after our death can stop it and everything it started.
  const child = nodeChildProcess().spawn(file, args, { stdio: "inherit", detached: true });
  const forward = FORWARDED.map((sig) => {
    const fn = (): void => void (child.pid !== undefined && kill(-child.pid, sig));
    process.on(sig, fn);
    return [sig, fn] as const;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  let renewing: NodeJS.Timeout | undefined;
  try {
    if (child.pid !== undefined) {
      await renewLock({ ...common, name: hold.name, token: hold.token, pgid: child.pid }).catch(
        async (err: unknown) => {
          kill(-child.pid!, "SIGKILL"); // the lock does not know its command: it must not outlive us unfenced
          await exited;
          throw err;
        },
      );
      const every = Math.max(50, (hold.ttl_s * 1000) / 3);
      renewing = setInterval(() => {
        renewLock({ ...common, name: hold.name, token: hold.token }).catch((err: unknown) => {
          opts.onWarning?.(`could not renew lock '${hold.name}': ${err instanceof Error ? err.message : String(err)}`);
          if (err instanceof AbqError && err.code === "E_CONFLICT") kill(-child.pid!, "SIGTERM");
        });
      }, every);
    }
    const end = await exited;
    if (end.error) {
      // As a shell reports it: 127 for a command that is not there, 126 for one that cannot be run. The
      // command line itself was fine, so this is the command's outcome, not a usage error.
      const missing = errnoCode(end.error) === "ENOENT";
      opts.onWarning?.(`cannot run ${file}: ${missing ? "command not found" : end.error.message}`);
      return { hold, exitCode: missing ? 127 : 126, signal: null };
    }
    const signo = end.signal !== null ? constants.signals[end.signal] : undefined;
    return { hold, exitCode: end.code ?? 128 + (signo ?? 0), signal: end.signal };
  } finally {
    clearInterval(renewing);
    for (const [sig, fn] of forward) process.off(sig, fn);
    await releaseLock({ ...common, name: hold.name, token: hold.token }).catch((err: unknown) => {
      opts.onWarning?.(`could not release lock '${hold.name}': ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

function kill(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}
