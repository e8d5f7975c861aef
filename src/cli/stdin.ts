/**
 * Reading stdin with a cap. Nothing read from stdin may be larger than a message can be (ABQ_MAX_BYTES,
 * default 4 MiB), so the size is checked as the bytes arrive: at the cap we stop reading and fail with
 * one line, instead of buffering 700 MB and failing (or crashing) afterwards. Closing our end of the pipe
 * tells the writer (EPIPE) to stop too.
 */
import { AbqError } from "../protocol/errors.ts";

async function maxBytes(): Promise<number> {
  const { resolveMaxBytes } = await import("../spool/files.ts");
  return resolveMaxBytes();
}

function tooLarge(what: string, cap: number): AbqError {
  return new AbqError("E_TOO_LARGE", `${what} is larger than the cap of ${cap} bytes (ABQ_MAX_BYTES)`, {
    hint: "send less, or raise ABQ_MAX_BYTES",
  });
}

/** All of stdin as text; E_TOO_LARGE (exit 2) as soon as it passes the cap. */
export async function readStdin(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const cap = await maxBytes();
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early (the throw) destroys the stream: no more is read.
  for await (const chunk of input) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > cap) throw tooLarge("stdin", cap);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The lines of stdin (`\n` or `\r\n`), each as text; E_TOO_LARGE as soon as one line passes the cap (a
 * line is one message). Unlike readline, a line is never buffered past the cap.
 */
export async function* stdinLines(input: NodeJS.ReadableStream = process.stdin): AsyncGenerator<string> {
  const cap = await maxBytes();
  let parts: Buffer[] = [];
  let size = 0;
  const take = (): string => {
    const line = (parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)).toString("utf8");
    parts = [];
    size = 0;
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  };
  for await (const chunk of input) {
    const buf = chunk as Buffer;
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      size += nl - start;
      if (size > cap) throw tooLarge("a line of stdin", cap);
      parts.push(buf.subarray(start, nl));
      yield take();
      start = nl + 1;
    }
    size += buf.length - start;
    if (size > cap) throw tooLarge("a line of stdin", cap);
    if (start < buf.length) parts.push(buf.subarray(start));
  }
  if (size > 0 || parts.length > 0) yield take();
}
