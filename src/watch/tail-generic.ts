/**
 * `abq tail` for transports other than the local files (JetStream): the same events, found by listing
 * the queue's states through the Transport interface on each wake-up (a publish wakes it at once; a
 * rescan every half second catches answers). Each listing reads only the newest entries of a state.
 */
import type { Request, Response } from "../protocol/schema.ts";
import type { ListState, Transport } from "../transport.ts";
import type { TailEvent } from "./tail.ts";

const STATES: ListState[] = ["requests", "processing", "responses", "archive"];
const PER_STATE = 500;

/** Loose objects carry any key, so tell answers from requests by their own required fields. */
function isResponse(message: Request | Response): message is Response {
  return typeof message["status"] === "string" && typeof message["result"] === "string";
}

function keyOf(message: Request | Response): string {
  return `${isResponse(message) ? "r" : "m"}:${message.id}`;
}

export async function* tailTransport(
  t: Transport,
  channel: string,
  as: string | undefined,
  signal: AbortSignal | undefined,
  backstopMs = 500,
): AsyncGenerator<TailEvent> {
  const seen = new Set<string>();
  const scan = async (): Promise<Array<Request | Response>> => {
    const found: Array<Request | Response> = [];
    for (const state of STATES) {
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
