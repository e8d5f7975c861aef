/**
 * Supervision calls: `abq requeue`, `abq sweep`, `abq dead`, `abq trace`. They need a transport that
 * declares the `supervise` capability (the filesystem spool does); others say so with E_USAGE.
 */
import type { LifecycleEvent, RequeueOptions, RequeueResult, SweepReport } from "../lifecycle/records.ts";
import { resolveAddress } from "../identity/address.ts";
import { type CommonOptions, withCapable, callerAgent } from "./options.ts";

/** Requeues claims whose worker is gone (never a live owner's), or revives dead letters with `fromDead`. */
export async function requeue(opts: CommonOptions & RequeueOptions): Promise<RequeueResult[]> {
  const channel = opts.channel !== undefined ? await resolveAddress(opts.channel, opts) : undefined;
  return withCapable(opts, "supervise", (t) => t.requeue({ ...opts, channel }), await callerAgent(opts));
}

/** One cron-safe pass of all maintenance; see src/spool/sweep.ts. */
export async function sweep(
  opts: CommonOptions & { channel?: string | undefined; dryRun?: boolean | undefined },
): Promise<SweepReport[]> {
  const channel = opts.channel !== undefined ? await resolveAddress(opts.channel, opts) : undefined;
  return withCapable(opts, "supervise", (t) => t.sweep({ channel, dryRun: opts.dryRun }), await callerAgent(opts));
}

export async function deadLetters(
  opts: CommonOptions & { channel: string; as?: string | undefined },
): Promise<Array<{ id: string; reason: Record<string, unknown> | undefined }>> {
  const channel = await resolveAddress(opts.channel, opts);
  return withCapable(opts, "supervise", (t) => t.dead(channel, { as: opts.as }));
}

export function trace(opts: CommonOptions & { id: string; channel?: string | undefined }): Promise<LifecycleEvent[]> {
  return withCapable(opts, "supervise", (t) => t.trace(opts.id, opts.channel));
}
