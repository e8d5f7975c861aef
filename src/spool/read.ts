/**
 * Reading message files: bounded, parsed, validated, with one-line reasons for everything that is wrong.
 * Also sets aside files that are not messages (`rejected/`), so nothing is ever deleted for being bad.
 */
import * as fs from "../fs-promised.ts";
import { basename, join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { newId } from "../protocol/ids.ts";
import { describeIssues, formatTimestamp, requestSchema, responseSchema } from "../protocol/schema.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { ensureSubdir, readBounded, writeNewFile } from "./files.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** Reads and validates a request file; `expectedId` is the id its file name promises. */
export async function readRequest(path: string, maxBytes: number, expectedId?: string): Promise<Parsed<Request>> {
  const text = await readOrProblem(path, maxBytes);
  if (!text.ok) return text;
  const parsed = parseWith(text.value, requestSchema());
  if (parsed.ok && expectedId !== undefined && parsed.value.id !== expectedId) {
    return { ok: false, problem: `file name says ${expectedId} but the message id is ${parsed.value.id}` };
  }
  return parsed;
}

export async function readResponse(path: string, maxBytes: number): Promise<Parsed<Response>> {
  const text = await readOrProblem(path, maxBytes);
  return text.ok ? parseWith(text.value, responseSchema()) : text;
}

/** A request file's text, parsed and validated (for callers that read the file themselves). */
export function parseRequest(text: string): Parsed<Request> {
  return parseWith(text, requestSchema());
}

export function parseResponse(text: string): Parsed<Response> {
  return parseWith(text, responseSchema());
}

async function readOrProblem(path: string, maxBytes: number): Promise<Parsed<string>> {
  try {
    return { ok: true, value: await readBounded(path, maxBytes) };
  } catch (err) {
    if (err instanceof AbqError) return { ok: false, problem: err.message };
    const code = errnoCode(err);
    if (code === "ENOENT") throw err;
    if (code === "EISDIR" || code === "ELOOP" || code === "EINVAL") {
      return { ok: false, problem: code === "EISDIR" ? "is a directory" : "is a symbolic link" };
    }
    throw ioError(`cannot read ${path}`, err);
  }
}

function parseWith<T>(text: string, schema: { safeParse(v: unknown): ParseOutcome<T> }): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = schema.safeParse(json);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, problem: `not a protocol 1.0.0 message: ${describeIssues(result.error)}` };
}

type ParseOutcome<T> = { success: true; data: T } | { success: false; error: Parameters<typeof describeIssues>[0] };

/**
 * Moves a bad file into the channel's `rejected/` and writes `<file>.reason.json` beside it. Never
 * overwrites an earlier rejected file of the same name. Returns the new path, or null when another
 * process moved the file first.
 */
export async function rejectFile(
  channelPath: string,
  path: string,
  reason: string,
  state: string,
): Promise<string | null> {
  const dir = join(channelPath, "rejected");
  await ensureSubdir(dir);
  let name = basename(path);
  for (let attempt = 0; attempt < 3; attempt++) {
    const target = join(dir, name);
    try {
      await fs.access(target);
      name = `${basename(path)}.${newId().slice(4)}`;
      continue;
    } catch {
      // free name: fall through and take it
    }
    try {
      await fs.rename(path, target);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return null;
      throw ioError(`cannot set aside ${path}`, err);
    }
    const note = { file: name, reason, state, rejected_at: formatTimestamp(), pid: process.pid };
    await writeNewFile(`${target}.reason.json`, `${JSON.stringify(note, null, 2)}\n`, false).catch(() => undefined);
    return target;
  }
  throw new AbqError("E_IO", `cannot find a free name in ${dir} for ${basename(path)}`);
}

/** A small JSON note (a reason file), or undefined when it is missing or not JSON. */
export async function readNote(path: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (path === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(await readBounded(path, 65536));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
