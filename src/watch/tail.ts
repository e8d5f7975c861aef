/**
 * `abq tail`: follow a queue, yielding each message and each answer as it appears, until aborted.
 * Only what arrives after the start is shown. A message claimed or answered within microseconds of
 * arriving is still shown: tail looks for it along its lifecycle (requests → processing → archive).
 */
import { join } from "node:path";
import { listDir } from "../channel/files.ts";
import { FolderSignal } from "../channel/notify.ts";
import { queueOf, resolveHome, validateChannelName, type Queue } from "../channel/paths.ts";
import { readRequest, readResponse } from "../channel/read.ts";
import { requireQueue } from "../channel/registry.ts";
import { resolveMaxBytes } from "../channel/files.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { CommonOptions } from "../api/options.ts";
import { resolveAddress } from "../identity/address.ts";

export type TailEvent = { kind: "message"; message: Request } | { kind: "response"; response: Response };

export interface TailOptions extends CommonOptions {
  channel: string;
  as?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Rescan interval in ms, the backstop for lost file events. Default: 500. */
  backstopMs?: number | undefined;
}

export async function* tail(opts: TailOptions): AsyncGenerator<TailEvent> {
  const channel = validateChannelName(await resolveAddress(opts.channel, opts.cwd));
  const url = opts.url ?? process.env["ABQ_URL"];
  if (opts.transport !== undefined || (url !== undefined && url !== "")) {
    // Not the local files: follow through the transport's own listings.
    const { openTransport } = await import("../api/options.ts");
    const { tailTransport } = await import("./tail-generic.ts");
    const { transport, owned } = await openTransport(opts);
    try {
      await transport.requireChannel(channel, { as: opts.as }); // fail now on a missing channel
      yield* tailTransport(transport, channel, opts.as, opts.signal, opts.backstopMs);
    } finally {
      if (owned) await transport.close();
    }
    return;
  }
  const q = queueOf(resolveHome(opts), channel, opts.as);
  await requireQueue(q);
  const maxBytes = resolveMaxBytes();
  const folders = ["requests", "responses", "archive"].map((d) => new FolderSignal(join(q.dir, d)));
  const seen = new Set<string>();
  for (const name of await snapshot(q)) seen.add(name);
  try {
    while (opts.signal?.aborted !== true) {
      for (const name of await snapshot(q)) {
        if (seen.has(name)) continue;
        seen.add(name);
        const event = await readEvent(q, name, maxBytes);
        if (event) yield event;
      }
      // Wake on any of the three folders, or the backstop.
      const wake = new AbortController();
      const relay = (): void => wake.abort();
      opts.signal?.addEventListener("abort", relay, { once: true });
      await Promise.race(folders.map((f) => f.wait(opts.backstopMs ?? 500, wake.signal)));
      wake.abort();
      opts.signal?.removeEventListener("abort", relay);
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
