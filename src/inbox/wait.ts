/**
 * `abq wait`: sleep until a queue has something pending, without claiming it. Wakes on file events
 * (with the same short backstop as `recv --wait`, since events can be lost), so an idle wait costs nothing.
 */
import { BACKSTOP_MS } from "../api/messages.ts";
import { type CommonOptions, parseInput, recvInput, withTransport } from "../api/options.ts";
import { isAddress, resolveAddress } from "../identity/address.ts";
import { AbqError } from "../protocol/errors.ts";
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import { checkInput, type InboxSummary, pendingIn } from "./check.ts";
import { capable } from "../lifecycle/transport.ts";
import { resolveHome } from "../spool/paths.ts";

export interface WaitForMailOptions extends CommonOptions {
  /** Channel name, or `@self` / `@parent` (created if needed, like `recv`). */
  channel: string;
  /** Wait on a topic subscriber's own copies. */
  as?: string | undefined;
  /** Seconds to wait. Default: no limit. `0` looks once. */
  timeout?: number | undefined;
  /** Most messages to list in the summary. Default: 10. */
  limit?: number | undefined;
  /** Stop waiting (E_TIMEOUT) when this aborts. */
  signal?: AbortSignal | undefined;
}

const waitInput = lazy(() => z.extend(checkInput(), { timeout: z.optional(recvInput().shape.timeout.def.innerType) }));

/** Resolves with the summary once something is pending; throws E_TIMEOUT when `timeout` runs out first. */
export async function waitForMail(opts: WaitForMailOptions): Promise<InboxSummary> {
  const channel = await resolveAddress(opts.channel, opts);
  const input = parseInput(waitInput(), { ...opts, channel });
  const q = { as: input.as };
  return withTransport(opts, async (t) => {
    if (isAddress(opts.channel)) await capable(t, "admin").createChannel(input.channel);
    const deadline = input.timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + input.timeout * 1000;
    // Start watching before the first look, so a message landing right after it wakes us.
    await t.waitForChange(input.channel, 0, undefined, q);
    for (;;) {
      const summary = await pendingIn(t, input.channel, input.as, input.limit, resolveHome(opts));
      if (summary.pending > 0) return summary;
      const left = deadline - Date.now();
      if (left <= 0 || opts.signal?.aborted === true) {
        const within = input.timeout === undefined ? "" : ` within ${input.timeout}s`;
        throw new AbqError("E_TIMEOUT", `nothing arrived in '${input.channel}'${within}`);
      }
      await t.waitForChange(input.channel, Math.min(left, BACKSTOP_MS), opts.signal, q);
    }
  });
}
