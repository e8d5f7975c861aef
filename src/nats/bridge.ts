/**
 * `abq bridge <channel> --url nats://…`: lets a machine whose agents only speak files join a
 * multi-machine bus. It claims each request from the local (filesystem) channel, forwards it unchanged
 * (same id, same JSON) to the JetStream channel of the same name, waits for the answer there, and writes
 * that answer back to the local channel, where the local sender (`ask`, `show`, reply_to) finds it.
 *
 * Crash safety: the local claim is held (its lease renewed) until the answer is written back, so a bridge
 * that dies leaves the request claimed locally; once the local lease expires it is claimed again, and the
 * bridge sees on NATS that the message was already forwarded (by id) and only waits for the answer. A
 * re-forward within the 2-minute de-duplication window is dropped by the server in any case.
 */
import { FsTransport } from "../spool/spool.ts";
import { AbqError } from "../protocol/errors.ts";
import { formatTimestamp, PROTOCOL_VERSION, type Request, type Response } from "../protocol/schema.ts";
import type { ClaimHandle } from "../lifecycle/transport.ts";
import { NatsTransport } from "./transport.ts";

export type BridgeEvent =
  | { type: "started"; channel: string; url: string }
  | { type: "forwarded"; id: string }
  | { type: "answered"; id: string; status: string }
  | { type: "warning"; id?: string | undefined; message: string }
  | { type: "stopped"; forwarded: number; answered: number };

export interface BridgeOptions {
  channel: string;
  url: string;
  home?: string | undefined;
  agent?: string | undefined;
  /** Requests in flight at once. Default 64. */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: ((e: BridgeEvent) => void) | undefined;
}

export async function runBridge(opts: BridgeOptions): Promise<{ forwarded: number; answered: number }> {
  const local = new FsTransport({ home: opts.home, agent: opts.agent });
  const remote = await NatsTransport.open({ url: opts.url, home: opts.home, agent: opts.agent });
  const emit = opts.onEvent ?? (() => undefined);
  const counts = { forwarded: 0, answered: 0 };
  const inflight = new Set<Promise<void>>();
  const max = opts.concurrency ?? 64;
  try {
    await local.count(opts.channel, "requests"); // E_NO_CHANNEL now, not in the loop
    await remote.createChannel(opts.channel);
    emit({ type: "started", channel: opts.channel, url: remote.url });
    while (opts.signal?.aborted !== true) {
      const claimed = inflight.size < max ? await local.claim(opts.channel) : null;
      if (!claimed) {
        await Promise.race([local.waitForChange(opts.channel, 1000, opts.signal), ...inflight]);
        continue;
      }
      const job: Promise<void> = forward(remote, claimed, counts, emit, opts.signal)
        .catch((err: unknown) => emit({ type: "warning", id: claimed.message.id, message: String(err) }))
        .finally(() => inflight.delete(job));
      inflight.add(job);
    }
    await Promise.all(inflight);
  } finally {
    await Promise.all([local.close(), remote.close()]);
    emit({ type: "stopped", ...counts });
  }
  return counts;
}

async function forward(
  remote: NatsTransport,
  claimed: ClaimHandle,
  counts: { forwarded: number; answered: number },
  emit: (e: BridgeEvent) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { channel, message, lease } = claimed;
  // The local attempt count is ours, not the message's: forward the request as its sender wrote it.
  const request: Request = { ...message };
  delete request["attempts"];
  const known = await remote.find(message.id, channel).catch(() => undefined);
  if (!known) {
    await remote.send(request);
    counts.forwarded++;
    emit({ type: "forwarded", id: message.id });
  }
  // Keep the local claim while the answer is on its way.
  const renew = lease
    ? setInterval(() => void claimed.renew().catch(() => undefined), (lease.lease_s * 1000) / 3)
    : undefined;
  try {
    for (;;) {
      if (signal?.aborted === true) {
        await claimed.release().catch(() => undefined); // back for the next bridge run
        return;
      }
      const answer = await remote
        .waitForResponse(channel, message.id, 30_000, {
          signal,
          onPending: (note) => void claimed.answer(note).catch(() => undefined),
        })
        .catch((err: unknown) => {
          if (!(err instanceof AbqError) || err.code === "E_IO") throw err;
          // Withdrawn or rejected over there: say so here, so the local sender is not left waiting.
          const failed: Response = {
            id: message.id,
            version: PROTOCOL_VERSION,
            status: "error",
            from: { agent: "abq-bridge", pid: process.pid },
            result: "",
            error: err.message,
            timestamp: formatTimestamp(),
          };
          return failed;
        });
      if (!answer) continue;
      await claimed.answer(answer);
      counts.answered++;
      emit({ type: "answered", id: message.id, status: answer.status });
      return;
    }
  } finally {
    clearInterval(renew);
  }
}
