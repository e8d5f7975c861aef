/**
 * The promise-returning file calls abq uses, built on node:fs's callback API. Node's own `fs/promises`
 * loads streams, readline and file-watching modules the first time it is touched, ~1.2 ms of every CLI
 * call (README "Performance"); these load nothing. Modules import it as `* as fs` and call `fs.stat(…)`
 * as they would `fs/promises`; file descriptors replace FileHandle objects.
 */
import * as fs from "node:fs";
import { promisify } from "node:util";
import { errnoCode } from "./protocol/errors.ts";

export const access = promisify(fs.access);
export const appendFile = promisify(fs.appendFile);
export const chmod = promisify(fs.chmod);
export const close = promisify(fs.close);
export const fchmod = promisify(fs.fchmod);
export const fstat = promisify(fs.fstat);
export const fsync = promisify(fs.fsync);
export const link = promisify(fs.link);
export const lstat = promisify(fs.lstat);
export const mkdir = promisify(fs.mkdir);
export const open = promisify(fs.open);
export const opendir = promisify(fs.opendir);
export const read = promisify(fs.read);
export const readdir = promisify(fs.readdir);
const readWhole = promisify(fs.readFile);
export const rename = promisify(fs.rename);
export const rm = promisify(fs.rm);
export const rmdir = promisify(fs.rmdir);
export const stat = promisify(fs.stat);
export const unlink = promisify(fs.unlink);
export const utimes = promisify(fs.utimes);
export const writeFile = promisify(fs.writeFile);

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
    if (!(await fstat(fd)).isFile()) {
      throw Object.assign(new Error(`${path} is not a regular file`), { code: "ENOTFILE", path });
    }
    return encoding ? await readWhole(fd, encoding) : await readWhole(fd);
  } finally {
    await close(fd);
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
