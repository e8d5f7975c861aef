/**
 * The few filesystem moves the lifecycle is built from: stage-and-publish, fsync a folder, read a file
 * with a size cap. Kept in one place so every caller gets the same durability and permissions.
 */
import { randomHex } from "../protocol/random.ts";
import { closeSync, constants, lstatSync, openSync, statSync, writeSync } from "node:fs";
import * as fs from "../fs-promised.ts";
import { basename, dirname, join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { type CrashPoint, crashPoint } from "./faults.ts";

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;
/** Default cap on one message file (bytes); `ABQ_MAX_BYTES` overrides it. */
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

export interface DurabilityOptions {
  /** fsync files and folders on every transition. Default: true unless `ABQ_FSYNC=0`. */
  fsync?: boolean | undefined;
}

export function resolveFsync(opts: DurabilityOptions = {}): boolean {
  return opts.fsync ?? process.env["ABQ_FSYNC"] !== "0";
}

export function resolveMaxBytes(): number {
  const raw = process.env["ABQ_MAX_BYTES"];
  const parsed = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : DEFAULT_MAX_BYTES;
}

/**
 * fsync a directory so a rename into it survives power loss. Opening and closing the folder take
 * microseconds, so they are synchronous calls (two thread-pool round trips fewer, three times per
 * send → claim → respond cycle); only the fsync, which waits for the disk, goes through the pool.
 */
export async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fs.fsync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A staging path in `tmpDir` that no other process (or call) can pick. */
export function stagingPath(tmpDir: string, finalName: string): string {
  return join(tmpDir, `${finalName}.${process.pid}.${randomHex(6)}.tmp`);
}

/** Largest file written with synchronous calls (see writeNewFile). */
const SMALL_FILE = 64 * 1024;

/**
 * Writes `data` to a new file (0600, exclusive create), fsynced when `sync`. A small file (a message,
 * lease or answer) is created, written and closed with synchronous calls: each takes microseconds into
 * the page cache, while each round trip through libuv's thread pool costs several times that, three
 * times per file. Only the fsync, which waits for the disk, goes through the pool.
 */
export async function writeNewFile(path: string, data: string, sync: boolean): Promise<void> {
  const mode = fileModeNow(dirname(path));
  const small = data.length <= SMALL_FILE;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  const fd = small ? openSync(path, flags, mode) : await fs.open(path, flags, mode);
  try {
    // The umask may have narrowed a group channel's 0660; set it exactly.
    if (mode !== FILE_MODE) await fs.fchmod(fd, mode);
    if (small) writeAllSync(fd, Buffer.from(data, "utf8"));
    else await fs.writeFile(fd, data, "utf8");
    if (sync) await fs.fsync(fd);
  } catch (err) {
    // A torn file (a full disk, most often) must not stay behind: it would keep the disk full, and an
    // empty reason or lease file reads as a real one.
    await fs.close(fd).catch(() => undefined);
    await fs.removeFile(path).catch(() => undefined);
    throw err;
  }
  if (small) closeSync(fd);
  else await fs.close(fd);
}

/** write(2) until all of `buf` is written (a regular file takes it in one call unless the disk is full). */
export function writeAllSync(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
}

/**
 * Stage `data` in `tmpDir`, then publish it at `target` atomically. `replace: false` uses link(2), which
 * fails with E_CONFLICT-worthy EEXIST instead of overwriting an existing file.
 */
export async function publishFile(
  tmpDir: string,
  target: string,
  data: string,
  opts: {
    sync: boolean;
    replace: boolean;
    crashAt?: CrashPoint;
  },
): Promise<void> {
  const staged = stagingPath(tmpDir, basename(target));
  try {
    await writeNewFile(staged, data, opts.sync);
  } catch (err) {
    // Channels made by the seed or by hand have no tmp/. Make it, but only inside a folder that exists,
    // so a missing channel still fails here instead of being half created.
    if (errnoCode(err) !== "ENOENT" || !(await pathExists(dirname(tmpDir)))) throw err;
    await ensureSubdir(tmpDir).catch(() => undefined); // shared like its channel (setgid, ACL mask)
    await writeNewFile(staged, data, opts.sync);
  }
  if (opts.crashAt !== undefined) crashPoint(opts.crashAt);
  let published = false;
  try {
    if (opts.replace) await fs.rename(staged, target);
    else await fs.link(staged, target);
    published = true;
  } finally {
    // After a link the staged name is a spare; after a failed rename it is litter that holds disk space.
    if (!opts.replace || !published) await fs.removeFile(staged).catch(() => undefined);
  }
  if (opts.sync) await syncDir(dirname(target));
}

/** Reads a whole file, refusing (without reading) one larger than `maxBytes`. */
export async function readBounded(path: string, maxBytes: number): Promise<string> {
  // O_NONBLOCK: a FIFO planted in a queue must be refused by the fstat below, not hang this open.
  const fd = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fs.fstat(fd);
    if (!st.isFile())
      throw new AbqError("E_BAD_MESSAGE", st.isDirectory() ? "is a directory" : "is not a regular file");
    const size = st.size;
    if (size > maxBytes) {
      throw new AbqError("E_TOO_LARGE", `file is ${size} bytes, over the ${maxBytes}-byte cap (ABQ_MAX_BYTES)`);
    }
    // One positional read of the size fstat gave (readFile would fstat again). Message files are
    // published whole and never rewritten; if this one grew anyway, the spare byte shows it and
    // readFile takes the whole of it.
    // A read of a regular file comes back short only at its end, so this one read is all of it.
    const buf = Buffer.allocUnsafe(size + 1);
    const { bytesRead: got } = await fs.read(fd, buf, 0, size + 1, 0);
    if (got <= size) return buf.toString("utf8", 0, got);
    const whole = await fs.readFile(fd);
    if (whole.length > maxBytes) {
      throw new AbqError("E_TOO_LARGE", `file is ${whole.length} bytes, over the ${maxBytes}-byte cap (ABQ_MAX_BYTES)`);
    }
    return whole.toString("utf8");
  } finally {
    closeNow(fd);
  }
}

/**
 * Closes a descriptor opened for reading, synchronously: closing a read-only file never writes back, so
 * it returns at once, and a thread-pool round trip would cost more than the call (pathExists).
 */
export function closeNow(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EBADF/EIO on a read-only descriptor: nothing was read wrong, and nothing is left to release
  }
}

/**
 * Whether anything is at `path` (a symbolic link counts). A synchronous lstat(2): it takes microseconds
 * and never waits for the disk, while a round trip through libuv's thread pool costs several times that,
 * and the send, claim and respond paths ask this of every message.
 */
export function pathExists(path: string): Promise<boolean> {
  return new Promise((resolve) => resolve(existsNow(path))); // a throw becomes the rejection
}

/** pathExists, synchronously (see there for why that is cheap). */
export function existsNow(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    if (errnoCode(err) === "ENOTDIR") return false;
    throw ioError(`cannot check ${path}`, err);
  }
}

/** Directory entries, or [] when the folder does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return [];
    throw ioError(`cannot list ${dir}`, err);
  }
}

/** rename(2) that reports whether it won (false = the source was gone: someone else moved it first). */
export async function tryRename(from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw ioError(`cannot move ${from}`, err);
  }
}

/** Makes `dir` and any missing parents (the bus home and its own folders, never a channel's insides). */
export async function ensureDir(dir: string): Promise<void> {
  const made = await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
  // Inside a group channel (setgid folders), new folders are shared with the group too.
  if (made !== undefined && fileModeNow(dirname(dir)) === GROUP_FILE_MODE) await fs.chmod(dir, GROUP_DIR_MODE);
}

/**
 * Makes one folder inside a channel whose own folder must still exist. Unlike ensureDir it never makes
 * parents: a worker finishing after `channel rm` would otherwise re-create half a channel (late/, tmp/)
 * that no command recognises. A missing parent is E_NO_CHANNEL.
 */
export async function ensureSubdir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    if (errnoCode(err) === "EEXIST") return;
    if (errnoCode(err) === "ENOENT") {
      throw new AbqError("E_NO_CHANNEL", `${dirname(dir)} no longer exists (its channel was removed)`, { cause: err });
    }
    throw ioError(`cannot make ${dir}`, err);
  }
  if (fileModeNow(dirname(dir)) === GROUP_FILE_MODE) await fs.chmod(dir, GROUP_DIR_MODE);
}

/** Files and folders of a channel shared with a Unix group (`channel create --group`). */
export const GROUP_FILE_MODE = 0o660;
export const GROUP_DIR_MODE = 0o2770;

/**
 * The mode for new files in `dir`: 0660 when the folder is setgid (a group channel, or one shared by
 * `abq share`), else 0600. Read from the folder itself, so every writer, whoever created the channel,
 * agrees. Not cached: under a default ACL the create mode sets the new file's mask, so a writer still
 * using 0600 for a few seconds after `abq share` would make files the grantee cannot read, and one still
 * using 0660 after `unshare` would open files to the owner's group. A stat(2) of a folder costs
 * microseconds, less than a thread-pool round trip, so it is a synchronous call.
 */
export function fileModeNow(dir: string): number {
  try {
    return ((statSync(dir, { throwIfNoEntry: false })?.mode ?? 0) & 0o2000) !== 0 ? GROUP_FILE_MODE : FILE_MODE;
  } catch {
    return FILE_MODE;
  }
}
