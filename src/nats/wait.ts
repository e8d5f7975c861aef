/**
 * Waiting without polling the server hard. New requests are also plain NATS messages on their subject,
 * so a core subscription to `abq.<channel>.req.>` wakes a waiting `recv --wait` or watcher the moment one
 * is published, on any machine; answers are watched on their KV key. Both also wake on a short backstop
 * (redeliveries after an expired lease publish nothing, and a wake-up lost in a reconnect must not
 * strand a waiter), exactly like the spool's file events plus rescans.
 */
import type { Subscription } from "@nats-io/transport-node";
import { KvWatchInclude } from "@nats-io/kv";
import { AbqError } from "../protocol/errors.ts";
import { WakeLatch } from "../wake.ts";
import type { ChannelName } from "../protocol/names.ts";
import type { Response } from "../protocol/schema.ts";
import type { WaitResponseOptions } from "../lifecycle/transport.ts";
import { requireStream } from "./channels.ts";
import { retrying } from "./connect.ts";
import type { NatsContext } from "./context.ts";
import { recordKey, requestSubjects } from "./names.ts";
import { getRecord, updateRecord } from "./records.ts";

/** Wakes waiters on each publish to a channel (see WakeLatch for the "empty, then wait" guarantee). */
export class Arrivals {
  private readonly latch = new WakeLatch();
  private sub: Subscription | undefined;

  static async subscribe(ctx: NatsContext, channel: string): Promise<Arrivals> {
    const a = new Arrivals();
    a.sub = ctx.nc.subscribe(requestSubjects(channel), { callback: () => a.poke() });
    await ctx.nc.flush(); // the server has the subscription before the caller's first look
    return a;
  }

  poke(): void {
    this.latch.poke();
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return this.latch.wait(ms, signal);
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.latch.release();
  }
}

/** Waits for the final answer to `id` in `channel`, marks it read (archive), returns it; null on timeout. */
export async function waitForAnswer(
  ctx: NatsContext,
  channel: ChannelName,
  id: string,
  timeoutMs: number,
  opts: WaitResponseOptions & { backstopMs?: number },
): Promise<Response | null> {
  await requireStream(ctx, channel);
  const key = recordKey(channel, undefined, id);
  const arrivals = new Arrivals();
  const watch = await retrying(ctx.s, `cannot wait for the answer to ${id}`, () =>
    ctx.kv.watch({ key, include: KvWatchInclude.UpdatesOnly }),
  );
  void (async () => {
    for await (const entry of watch) if (entry.key === key) arrivals.poke();
  })().catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  let lastNote = "";
  try {
    for (;;) {
      const got = await getRecord(ctx.kv, key).catch(() => null); // an outage: look again after the backstop
      const r = got?.record;
      if (got && r?.response && (r.state === "answered" || r.state === "read")) {
        if (r.state === "answered") {
          await updateRecord(ctx.kv, key, { ...r, state: "read", updatedMs: Date.now() }, got.revision).catch(
            () => null,
          );
        }
        return r.response;
      }
      // Withdrawn, or handled without an answer (ack): nobody will answer, so the waiter stops here.
      if (r?.state === "cancelled" || r?.state === "acked") {
        throw new AbqError("E_CONFLICT", `message ${id} will not be answered: ${r.reason?.reason ?? "archived"}`);
      }
      if (r?.state === "rejected") {
        throw new AbqError("E_BAD_MESSAGE", `message ${id} was rejected as invalid`, {
          hint: `see why with: abq ls ${channel} rejected`,
        });
      }
      if (r?.note && r.note.timestamp !== lastNote) {
        lastNote = r.note.timestamp;
        opts.onPending?.(r.note);
      }
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted === true) return null;
      await arrivals.wait(Math.min(left, opts.backstopMs ?? 1000), opts.signal);
    }
  } finally {
    watch.stop();
    arrivals.close();
  }
}
