/**
 * The promise-returning file calls abq uses, built on node:fs's callback API. Node's own `fs/promises`
 * loads streams, readline and file-watching modules the first time it is touched, ~1.2 ms of every CLI
 * call (README "Performance"); these load nothing. Modules import it as `* as fs` and call `fs.stat(…)`
 * as they would `fs/promises`; file descriptors replace FileHandle objects.
 */
import * as fs from "node:fs";
import { promisify } from "node:util";
import { errnoCode } from "./protocol/errors.ts";

/**
 * Direct calls: a one-shot command (the CLI's fast path, src/cli/fast.ts) sets this, and every call here
 * then runs the synchronous system call on the main thread. Each asynchronous call is a round trip
 * through libuv's thread pool, whose four threads are started by the first one; a `send` makes about 25
 * of them, which cost more than the calls themselves (docs/performance.md). Long-running processes
 * (watch, mcp, ui) and the bulk operations, whose fsyncs overlap in the pool, never set it.
 */
let direct = false;
export function useDirectCalls(on: boolean): void {
  direct = on;
}

/**
 * The callback API's promise form, or else the synchronous call's result as a settled promise. `sync`
 * must resolve to what `viaPool` resolves to (fs.read's promise form differs: see `read` below).
 */
function either<F extends (...a: never[]) => Promise<unknown>>(viaPool: F, sync: (...a: never[]) => unknown): F {
  // An async function: a throw from the synchronous call becomes a rejection, as from the pool.
  return (async (...a: Parameters<F>): Promise<unknown> => (direct ? sync(...a) : await viaPool(...a))) as F;
}

export const access = either(promisify(fs.access), fs.accessSync);
export const appendFile = either(promisify(fs.appendFile), fs.appendFileSync);
export const chmod = either(promisify(fs.chmod), fs.chmodSync);
export const close = either(promisify(fs.close), fs.closeSync);
export const fchmod = either(promisify(fs.fchmod), fs.fchmodSync);
export const fstat = either(promisify(fs.fstat), fs.fstatSync);
export const fsync = either(promisify(fs.fsync), fs.fsyncSync);
export const link = either(promisify(fs.link), fs.linkSync);
export const lstat = either(promisify(fs.lstat), fs.lstatSync);
export const mkdir = either(promisify(fs.mkdir), fs.mkdirSync);
export const open = either(promisify(fs.open), fs.openSync);
export const opendir = either(promisify(fs.opendir), fs.opendirSync);
export const read = either(
  promisify(fs.read),
  (fd: number, buffer: NodeJS.ArrayBufferView, offset: number, length: number, position: number | null) => ({
    bytesRead: fs.readSync(fd, buffer, offset, length, position),
    buffer,
  }),
);
export const readdir = either(promisify(fs.readdir), fs.readdirSync);
const readWhole = either(promisify(fs.readFile), fs.readFileSync);
export const rename = either(promisify(fs.rename), fs.renameSync);
export const rm = either(promisify(fs.rm), fs.rmSync);
export const rmdir = either(promisify(fs.rmdir), fs.rmdirSync);
export const stat = either(promisify(fs.stat), fs.statSync);
export const unlink = either(promisify(fs.unlink), fs.unlinkSync);
export const utimes = either(promisify(fs.utimes), fs.utimesSync);
export const writeFile = either(promisify(fs.writeFile), fs.writeFileSync);

/**
 * A whole file, as text: readFile that never blocks on a FIFO or device planted where abq expects a
 * file. It opens with O_NONBLOCK (no effect on regular files) and refuses anything else with ENOTFILE
 * ("is not a regular file"), so a hostile `mkfifo` in a bus folder cannot hang every reader.
 */
export async function readFile(path: string | number, encoding: "utf8"): Promise<string>;
export async function readFile(path: string | number): Promise<Buffer>;
export async function readFile(path: string | number, encoding?: "utf8"): Promise<string | Buffer> {
  if (typeof path === "number") return encoding ? readWhole(path, encoding) : readWhole(path);
  const fd = await open(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = await fstat(fd);
    if (!st.isFile()) {
      throw Object.assign(new Error(`${path} is not a regular file`), { code: "ENOTFILE", path });
    }
    // One read of the size fstat gave (readFile on the fd would fstat again and read twice); a regular
    // file's read comes back short only at its end, and a spare byte read shows the file grew.
    const buf = Buffer.allocUnsafe(st.size + 1);
    const { bytesRead } = await read(fd, buf, 0, buf.length, 0);
    if (bytesRead <= st.size) return encoding ? buf.toString(encoding, 0, bytesRead) : buf.subarray(0, bytesRead);
    return encoding ? await readWhole(fd, encoding) : await readWhole(fd);
  } finally {
    // Synchronously: closing a read-only file writes nothing back and returns at once, cheaper than a
    // round trip through the thread pool.
    fs.closeSync(fd);
  }
}

/** unlink(2), where "already gone" counts as done: `rm({ force: true })` without its two stat calls. */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
}
