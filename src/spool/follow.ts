/**
 * Following a queue on the spool (`abq tail`): names only are compared between scans, so a wake-up costs
 * three readdirs, and a message is read once, when it first appears. A message claimed or answered
 * within microseconds of arriving is still shown: it is looked for along its lifecycle (requests →
 * processing → archive). It wakes on any of the three folders, or on the backstop.
 */
import { join } from "node:path";
import type { Request, Response } from "../protocol/schema.ts";
import type { TailEvent } from "../lifecycle/transport.ts";
import { listDir } from "./files.ts";
import { FolderSignal } from "./notify.ts";
import type { Queue } from "./paths.ts";
import { readRequest, readResponse } from "./read.ts";
import { requireQueue } from "./registry.ts";

export async function* followQueue(
  q: Queue,
  maxBytes: number,
  signal: AbortSignal | undefined,
  backstopMs: number,
): AsyncGenerator<TailEvent> {
  await requireQueue(q);
  const folders = ["requests", "responses", "archive"].map((d) => new FolderSignal(join(q.dir, d)));
  const seen = new Set<string>();
  for (const name of await snapshot(q)) seen.add(name);
  try {
    while (signal?.aborted !== true) {
      for (const name of await snapshot(q)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const event = await readEvent(q, name, maxBytes);
        if (event) yield event;
      }
      const wake = new AbortController();
      const relay = (): void => wake.abort();
      signal?.addEventListener("abort", relay, { once: true });
      await Promise.race(folders.map((f) => f.wait(backstopMs, wake.signal)));
      wake.abort();
      signal?.removeEventListener("abort", relay);
    }
  } finally {
    for (const f of folders) f.close();
  }
}

/** Names that identify messages and answers: `m:<id>` for requests, `r:<id>` for responses. */
async function snapshot(q: Queue): Promise<string[]> {
  const [requests, processing, responses, archive] = await Promise.all(
    ["requests", "processing", "responses", "archive"].map((d) => listDir(join(q.dir, d))),
  );
  const keys: string[] = [];
  for (const n of [...requests!, ...processing!].sort()) if (n.endsWith(".json")) keys.push(`m:${n.slice(0, -5)}`);
  for (const n of archive!.sort()) {
    if (n.endsWith("_request.json")) keys.push(`m:${n.slice(0, -13)}`);
    if (n.endsWith("_response.json")) keys.push(`r:${n.slice(0, -14)}`);
  }
  for (const n of responses!.sort()) if (n.endsWith(".json")) keys.push(`r:${n.slice(0, -5)}`);
  return keys;
}

async function readEvent(q: Queue, key: string, maxBytes: number): Promise<TailEvent | undefined> {
  const id = key.slice(2);
  const places = key.startsWith("m:")
    ? [
        join(q.dir, "requests", `${id}.json`),
        join(q.dir, "processing", `${id}.json`),
        join(q.dir, "archive", `${id}_request.json`),
      ]
    : [join(q.dir, "responses", `${id}.json`), join(q.dir, "archive", `${id}_response.json`)];
  for (const path of places) {
    const parsed = key.startsWith("m:")
      ? await readRequest(path, maxBytes).catch(() => undefined)
      : await readResponse(path, maxBytes).catch(() => undefined);
    if (parsed?.ok !== true) continue;
    return key.startsWith("m:")
      ? { kind: "message", message: parsed.value as Request }
      : { kind: "response", response: parsed.value as Response };
  }
  return undefined;
}
