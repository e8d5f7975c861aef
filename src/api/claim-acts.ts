/**
 * Acts on a claim made elsewhere (another process, a shell's `abq recv`), named by channel, id and the
 * lease token: release, ack, term and renew. Each resumes the claim through the transport and runs one
 * act of its claim handle, fenced by the token when one is given.
 */
import { resolveAddress } from "../identity/address.ts";
import type { ClaimHandle, ReleaseOutcome } from "../lifecycle/transport.ts";
import type { FailureInfo, Lease } from "../lifecycle/records.ts";
import { callerAgent, claimRefInput, type CommonOptions, parseInput, secondsInput, withTransport } from "./options.ts";

/** Names a claimed message: its channel, id and (to fence the act) the lease token `recv` printed. */
export interface ClaimRef extends CommonOptions {
  channel: string;
  id: string;
  as?: string | undefined;
  /** The lease token from the claim: act only while the claim is still ours (fenced). */
  lease?: string | undefined;
}

/** Resumes the claim `ref` names and runs one act on it. */
async function onClaim<T>(ref: ClaimRef, act: (claim: ClaimHandle) => Promise<T>): Promise<T> {
  const input = parseInput(claimRefInput(), { ...ref, channel: await resolveAddress(ref.channel, ref) });
  const agent = await callerAgent(ref);
  return withTransport(
    ref,
    async (t) => act(await t.resume(input.channel, input.id, { as: input.as, lease: input.lease })),
    agent,
  );
}

/** Puts a claimed message back: now, after `delay` seconds (not a failed attempt), or as a failed attempt. */
export function release(
  ref: ClaimRef & { delay?: number | undefined; failure?: FailureInfo | undefined },
): Promise<ReleaseOutcome> {
  const delayMs = ref.delay !== undefined ? Math.round(parseInput(secondsInput(), ref.delay) * 1000) : undefined;
  return onClaim(ref, (c) => c.release({ delayMs, failure: ref.failure }));
}

/** Acknowledges a claimed message without an answer: archived, marked acknowledged. */
export function ack(ref: ClaimRef): Promise<void> {
  return onClaim(ref, (c) => c.ack());
}

/**
 * Extends a claim's lease by its channel's lease length from now: for a worker that needs longer, and for
 * a claim made by a shell's `abq recv`, which is held by its lease alone (the shell may exit).
 */
export function renew(ref: ClaimRef): Promise<Lease> {
  return onClaim(ref, (c) => c.renew());
}

/** Dead-letters a claimed message at once, with `reason`. */
export function term(ref: ClaimRef & { reason: string }): Promise<void> {
  return onClaim(ref, (c) => c.term(ref.reason));
}
