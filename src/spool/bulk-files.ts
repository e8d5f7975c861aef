/**
 * Synchronous forms of the few file moves in files.ts, for the bulk operations (purge, the sweep's
 * expiry, requeue). Why: each async fs call is a round trip through libuv's thread pool, and a message
 * costs several (rename, open, write, close, a stat of its folder for the file mode), so 20 000 messages
 * spent most of their time waiting on the pool, not on the disk. Made synchronously the same calls cost
 * a few µs each. Callers work in slices of BULK_SLICE messages and yield to the event loop between
 * slices (`nextSlice`), as scan.ts does, so a progress line and a long-running process stay responsive.
 *
 * What stays asynchronous is the waiting on the disk: fsyncs, issued together so they share the file
 * system's journal commits (`fsyncAll`, `syncDirs`), and a folder is fsynced once per slice, not once
 * per message. Each step has the same semantics as its async form in files.ts (exclusive create, exact
 * mode on group channels, a torn file removed, ENOENT = someone else moved it first).
 */
import { closeSync, constants, fchmodSync, openSync, renameSync, unlinkSync } from "node:fs";
import { setImmediate } from "node:timers";
import { crashPoint } from "./faults.ts";
import * as fs from "../fs-promised.ts";
import { errnoCode, ioError } from "../protocol/errors.ts";
import { FILE_MODE, syncDir, writeAllSync } from "./files.ts";
import { eachInPool } from "./pool.ts";

/** Messages handled between two yields to the event loop, and covered by one folder fsync. */
export const BULK_SLICE = 256;

/** Fsyncs in flight at once: enough to keep the thread pool busy and the journal commits shared. */
const FSYNC_PARALLEL = 32;

/** Lets timers and I/O callbacks run (a progress line, a server's requests) between two slices. */
export function nextSlice(): Promise<void> {
  crashPoint("bulk:slice");
  return new Promise((resolve) => setImmediate(resolve));
}

/** rename(2) that reports whether it won (false = the source was gone: someone else moved it first). */
export function tryRenameSync(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw ioError(`cannot move ${from}`, err);
  }
}

/** Removes a file; one already gone is fine. */
export function removeFileSync(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
}

/**
 * Writes `data` to a new file (exclusive create, `mode` set exactly). With `keepOpen` the descriptor is
 * returned for the caller to fsync and close (`fsyncAll`); otherwise the file is closed unsynced.
 */
export function writeNewFileSync(path: string, data: string, mode: number, keepOpen = false): number | undefined {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    // The umask may have narrowed a group channel's 0660; set it exactly.
    if (mode !== FILE_MODE) fchmodSync(fd, mode);
    writeAllSync(fd, Buffer.from(data, "utf8"));
  } catch (err) {
    // A torn file must not stay behind (it would read as a real one, and keep a full disk full).
    closeSync(fd);
    removeFileSync(path);
    throw err;
  }
  if (keepOpen) return fd;
  closeSync(fd);
  return undefined;
}

/**
 * fsyncs then closes every descriptor, several at once so they share journal commits. Every descriptor
 * is closed whatever happens; the result says, per descriptor, whether its fsync failed (and why).
 */
export async function fsyncAll(fds: readonly number[]): Promise<Map<number, unknown>> {
  const failed = new Map<number, unknown>();
  await eachInPool(fds, FSYNC_PARALLEL, async (fd) => {
    await fs.fsync(fd).catch((err: unknown) => failed.set(fd, err));
    closeSync(fd);
  });
  return failed;
}

/** fsyncs each distinct folder once, at the same time. */
export async function syncDirs(dirs: Iterable<string>): Promise<void> {
  await Promise.all([...new Set(dirs)].map((dir) => syncDir(dir)));
}
