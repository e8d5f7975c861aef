/**
 * Channel arguments of the MCP tools resolve as the CLI's do (src/identity/address.ts): `@self`,
 * `@parent`, an agent's identity, or a unique suffix of a known agent's identity; a plain name is a
 * channel. They are resolved here, against the server's own bus (its `--home`, its URL), because the
 * library looks agents up in `$ABQ_HOME`. The library then sees a plain inbox name, so the inbox is
 * created here wherever the library would have created it for an address (send, ask, recv, reply_to).
 */
import { createChannel } from "../api/channels.ts";
import { type CommonOptions, withTransport } from "../api/options.ts";
import { isAddress, isFullIdentity, looksLikeAgent, resolveAddress } from "../identity/address.ts";

export interface Target {
  channel: string;
  /** The argument named an inbox (an address), not a channel. */
  inbox: boolean;
}

export async function target(common: CommonOptions, name: string): Promise<Target> {
  const where = { cwd: common.cwd, home: common.home, transport: common.transport };
  const remote = common.transport === undefined && (common.url ?? process.env["ABQ_URL"]) !== undefined;
  // Only a suffix is looked up among the bus's channels; on a remote bus that needs a connection.
  const channel =
    remote && looksLikeAgent(name) && !isFullIdentity(name)
      ? await withTransport(common, (t) => resolveAddress(name, { ...where, transport: t }))
      : await resolveAddress(name, where);
  return { channel, inbox: isAddress(name) };
}

export async function optionalTarget(common: CommonOptions, name: string | undefined): Promise<Target | undefined> {
  return name === undefined ? undefined : target(common, name);
}

/** Creates an addressed inbox on first use, as the library does for `@self`; a channel is left alone. */
export async function ensureInbox(common: CommonOptions, t: Target | undefined): Promise<void> {
  if (t?.inbox === true) await createChannel({ ...common, name: t.channel });
}
