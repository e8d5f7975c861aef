/**
 * Supervision calls: `abq requeue`, `abq sweep`, `abq dead`, `abq trace`. They need a transport that
 * supports them (the filesystem spool does); others say so with E_USAGE.
 */
import type { RequeueOptions } from "../channel/spool.ts";
import type { RequeueResult } from "../channel/requeue.ts";
import type { SweepReport } from "../channel/sweep.ts";
import type { LifecycleEvent } from "../channel/events.ts";
import { resolveAddress } from "../identity/address.ts";
import { AbqError } from "../protocol/errors.ts";
import type { Transport } from "../transport.ts";
import { type CommonOptions, withTransport, callerAgent } from "./options.ts";

function need<K extends keyof Transport>(t: Transport, method: K): NonNullable<Transport[K]> {
  const fn = t[method];
  if (typeof fn !== "function") throw new AbqError("E_USAGE", `this transport does not support ${String(method)}`);
  return (fn as (...args: unknown[]) => unknown).bind(t) as NonNullable<Transport[K]>;
}

/** Requeues claims whose worker is gone (never a live owner's), or revives dead letters with `fromDead`. */
export async function requeue(opts: CommonOptions & RequeueOptions): Promise<RequeueResult[]> {
  const channel = opts.channel !== undefined ? await resolveAddress(opts.channel, opts.cwd) : undefined;
  return withTransport(opts, (t) => need(t, "requeue")({ ...opts, channel }), await callerAgent(opts));
}

/** One cron-safe pass of all maintenance; see src/channel/sweep.ts. */
export async function sweep(
  opts: CommonOptions & { channel?: string | undefined; dryRun?: boolean | undefined },
): Promise<SweepReport[]> {
  const channel = opts.channel !== undefined ? await resolveAddress(opts.channel, opts.cwd) : undefined;
  return withTransport(opts, (t) => need(t, "sweep")({ channel, dryRun: opts.dryRun }), await callerAgent(opts));
}

export async function deadLetters(
  opts: CommonOptions & { channel: string; as?: string | undefined },
): Promise<Array<{ id: string; reason: Record<string, unknown> | undefined }>> {
  const channel = await resolveAddress(opts.channel, opts.cwd);
  return withTransport(opts, (t) => need(t, "dead")(channel, { as: opts.as }));
}

export function trace(opts: CommonOptions & { id: string; channel?: string | undefined }): Promise<LifecycleEvent[]> {
  return withTransport(opts, (t) => need(t, "trace")(opts.id, opts.channel));
}
