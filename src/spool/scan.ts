/**
 * Reading many small message files fast, for listings that read a whole folder (`ls -n 0`, `thread`,
 * `search`). Why synchronous: each async file call is a round trip through libuv's thread pool
 * (~30–80 µs on a busy machine), and a message costs open, fstat, read and close, so 100 000 archived
 * messages took a minute; the same calls made synchronously cost a few µs each from the page cache.
 * To keep a long-running process (abq mcp, abq ui) responsive, the caller reads in slices of
 * SCAN_SLICE files and yields to the event loop between slices (`nextSlice`).
 *
 * The same rules as readBounded (src/spool/files.ts): O_NOFOLLOW, O_NONBLOCK (a FIFO planted in a queue
 * is refused by the fstat, never waited on), regular files only, the size cap checked before reading.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { setImmediate as nextTick } from "node:timers";
import { sep } from "node:path";
import { errnoCode, ioError } from "../protocol/errors.ts";
import type { Response } from "../protocol/schema.ts";
import { parseResponse } from "./read.ts";

/** Files read between two yields to the event loop: ~1–3 ms of work. */
export const SCAN_SLICE = 256;

export type Scanned =
  { ok: true; text: string; mtimeMs: number } | { ok: false; problem: string; mtimeMs?: number | undefined };

/**
 * One message file's text and modification time; undefined when it is gone (moved on while we
 * listed). Unreadable or oversized files come back as a problem, never as a throw; other I/O errors
 * (EIO, EACCES) throw, as readBounded's do.
 */
export function scanFile(path: string, maxBytes: number): Scanned | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP" || code === "EINVAL") return { ok: false, problem: "is a symbolic link" };
    if (code === "EISDIR") return { ok: false, problem: "is a directory" };
    throw ioError(`cannot read ${path}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const problem = st.isDirectory() ? "is a directory" : "is not a regular file";
      return { ok: false, problem, mtimeMs: st.mtimeMs };
    }
    if (st.size > maxBytes) {
      const problem = `file is ${st.size} bytes, over the ${maxBytes}-byte cap (ABQ_MAX_BYTES)`;
      return { ok: false, problem, mtimeMs: st.mtimeMs };
    }
    // The spare byte shows a file that grew after the fstat (message files never should): read on.
    let buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (buf.length > maxBytes) {
          return { ok: false, problem: `file is over the ${maxBytes}-byte cap (ABQ_MAX_BYTES)`, mtimeMs: st.mtimeMs };
        }
        buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      }
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { ok: true, text: buf.toString("utf8", 0, got), mtimeMs: st.mtimeMs };
  } catch (err) {
    throw ioError(`cannot read ${path}`, err);
  } finally {
    closeSync(fd);
  }
}

/** Yields to the event loop after every SCAN_SLICE calls: `if (slice.due()) await slice.yield()`. */
export function sliceCounter(): { due: () => boolean; yield: () => Promise<void> } {
  let n = 0;
  return {
    due: () => ++n % SCAN_SLICE === 0,
    yield: () => new Promise((resolve) => nextTick(resolve)),
  };
}

/**
 * The final answer kept for an archived request (`archive/<id>_response.json`, or the unread one in
 * `responses/` in the crash window between the two), read as scanFile reads; undefined when none, or
 * when `mayHold` says the raw text cannot be what the caller looks for (it is then never parsed).
 */
export function scanFinalAnswer(
  dir: string,
  id: string,
  maxBytes: number,
  mayHold?: (raw: string) => boolean,
): Response | undefined {
  // Tried in this order because an archived request's answer is almost always archived too: the
  // responses/ name is looked up only when the archive has none (100 000 failed opens cost seconds).
  for (const path of [`${dir}${sep}archive${sep}${id}_response.json`, `${dir}${sep}responses${sep}${id}.json`]) {
    const read = scanFile(path, maxBytes);
    if (read === undefined) continue;
    if (!read.ok || (mayHold !== undefined && !mayHold(read.text))) return undefined;
    const parsed = parseResponse(read.text);
    return parsed.ok && parsed.value.status !== "pending" ? parsed.value : undefined;
  }
  return undefined;
}
