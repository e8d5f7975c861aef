/**
 * Delivery (lifecycle step 1): stage in the channel's `tmp/`, fsync, rename into `requests/`, fsync the
 * folder. `tmp/` is inside the channel folder so the rename never crosses a filesystem.
 */
import { join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";
import { publishFile } from "./files.ts";
import type { Queue } from "./paths.ts";
import { requireQueue } from "./registry.ts";

export interface DeliverOptions {
  sync: boolean;
  maxBytes: number;
}

export function serialize(message: object): string {
  return `${JSON.stringify(message, null, 2)}\n`;
}

/** The message file's text, refused (E_TOO_LARGE) over the cap before anything is written. */
export function serializeRequest(message: Request, maxBytes: number): string {
  const data = serialize(message);
  const bytes = Buffer.byteLength(data);
  if (bytes > maxBytes) {
    throw new AbqError("E_TOO_LARGE", `message is ${bytes} bytes, over the ${maxBytes}-byte cap`, {
      hint: "send a path to a file instead of the file, or raise ABQ_MAX_BYTES",
    });
  }
  return data;
}

export async function deliver(q: Queue, message: Request, opts: DeliverOptions): Promise<Request> {
  const dir = q.dir;
  const data = serializeRequest(message, opts.maxBytes);
  const target = join(dir, "requests", `${message.id}.json`);
  try {
    await publishFile(join(dir, "tmp"), target, data, {
      sync: opts.sync,
      replace: true,
      crashAt: "send:staged",
    });
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw ioError(`cannot deliver to ${message.to}`, err);
    await requireQueue(q); // no such channel: say so; otherwise the folder vanished under us
    throw ioError(`cannot deliver to ${message.to}`, err);
  }
  return message;
}
