/**
 * `abq tail`: follow a queue, yielding each message and each answer as it appears, until aborted. Only
 * what arrives after the start is shown. A transport that can follow a queue itself (`follow`, the
 * spool's folder watch) does; for others (JetStream) the queue's states are listed on each wake-up (a
 * publish wakes it at once; a rescan every half second catches answers), newest entries only.
 */
import type { Request, Response } from "../protocol/schema.ts";
import {
  capable,
  type Inspection,
  type ListState,
  type TailEvent,
  type TransportCore,
} from "../lifecycle/transport.ts";
import { type CommonOptions, openTransport } from "../api/options.ts";
import { resolveAddress } from "../identity/address.ts";
import { channelName } from "../protocol/names.ts";

export type { TailEvent };

export interface TailOptions extends CommonOptions {
  channel: string;
  as?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Rescan interval in ms, the backstop for lost wake-ups. Default: 500. */
  backstopMs?: number | undefined;
}

export async function* tail(opts: TailOptions): AsyncGenerator<TailEvent> {
  const channel = channelName(await resolveAddress(opts.channel, opts.cwd));
  const { transport, owned } = await openTransport(opts);
  try {
    const view = capable(transport, "inspect", "abq tail");
    const backstopMs = opts.backstopMs ?? 500;
    if (view.follow) yield* view.follow(channel, { as: opts.as, signal: opts.signal, backstopMs });
    else {
      await capable(transport, "admin").requireChannel(channel, { as: opts.as }); // fail now on a missing channel
      yield* byListing(view, channel, opts.as, opts.signal, backstopMs);
    }
  } finally {
    if (owned) await transport.close();
  }
}

const FOLLOWED: ListState[] = ["requests", "processing", "responses", "archive"];
const PER_STATE = 500;

/** Loose objects carry any key, so tell answers from requests by their own required fields. */
function isResponse(message: Request | Response): message is Response {
  return typeof message["status"] === "string" && typeof message["result"] === "string";
}

function keyOf(message: Request | Response): string {
  return `${isResponse(message) ? "r" : "m"}:${message.id}`;
}

async function* byListing(
  t: TransportCore & Inspection,
  channel: string,
  as: string | undefined,
  signal: AbortSignal | undefined,
  backstopMs: number,
): AsyncGenerator<TailEvent> {
  const seen = new Set<string>();
  const scan = async (): Promise<Array<Request | Response>> => {
    const found: Array<Request | Response> = [];
    for (const state of FOLLOWED) {
      const entries = await t.list(channel, state, { limit: PER_STATE, oldestFirst: false, as });
      for (const e of entries.reverse()) if (e.message) found.push(e.message);
    }
    return found;
  };
  for (const m of await scan()) seen.add(keyOf(m));
  while (signal?.aborted !== true) {
    await t.waitForChange(channel, backstopMs, signal, { as });
    for (const m of await scan()) {
      const key = keyOf(m);
      if (seen.has(key)) continue;
      seen.add(key);
      yield isResponse(m) ? { kind: "response", response: m } : { kind: "message", message: m };
    }
  }
}
