/**
 * Content (or a result) read from stdin by the CLI without a size cap: up to the inline cap it is text,
 * as before; past it, what was read and the rest of stdin become a stream that the library stores as a
 * spilled attachment (`content.txt`, `result.txt`), so `git diff | abq send c command -` works at any
 * size without holding more than the cap in memory.
 */
import { AbqError } from "../protocol/errors.ts";
import { resolveMaxBytes } from "../spool/files.ts";

export interface TextOrStream {
  text: string;
  /** Set when stdin was larger than the cap: everything, from the first byte. */
  source?: AsyncIterable<Uint8Array> | undefined;
}

export async function readTextOrStream(
  input: NodeJS.ReadableStream = process.stdin,
  cap: number = resolveMaxBytes(),
): Promise<TextOrStream> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await it.next();
    if (next.done === true) return { text: Buffer.concat(head).toString("utf8") };
    head.push(next.value);
    size += next.value.length;
    if (size > cap) return { text: "", source: rest(head, it) };
  }
}

async function* rest(head: Buffer[], it: AsyncIterator<Buffer>): AsyncGenerator<Uint8Array> {
  yield* head.splice(0);
  for (;;) {
    const next = await it.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** Empty content is refused unless allowed, as src/cli/content.ts does for content under the cap. */
export function refuseEmpty(got: TextOrStream, allowEmpty: boolean | undefined): TextOrStream {
  if (got.text === "" && got.source === undefined && allowEmpty !== true)
    throw new AbqError("E_USAGE", "empty content (from stdin?); pass --allow-empty to send it anyway");
  return got;
}
