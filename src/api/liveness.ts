/**
 * Liveness and health: `abq heartbeat`, `abq agents`, `abq check --channel X --alive`, and the doctor
 * (`abq check`). These read and write `$ABQ_HOME` directly: they are about this machine's bus.
 */
import { resolveAddress } from "../identity/address.ts";
import { callerAgent } from "./options.ts";
import { resolveHome } from "../spool/paths.ts";
import { queueOf } from "../spool/paths.ts";
import { channelName, isChannelName } from "../protocol/names.ts";
import { pathExists } from "../spool/files.ts";
import { join } from "node:path";
import { runDoctor, type DoctorReport } from "../doctor/check.ts";
import {
  channelAlive,
  DEFAULT_HEARTBEAT_TTL_S,
  type Heartbeat,
  type HeartbeatStatus,
  listHeartbeats,
  writeHeartbeat,
} from "../liveness/heartbeat.ts";
import { AbqError } from "../protocol/errors.ts";
import type { CommonOptions } from "./options.ts";
import { withTransport } from "./options.ts";
import { capable } from "../lifecycle/transport.ts";
import { type KnownAgent, knownAgents } from "../identity/directory.ts";

/**
 * Records that `name` (a channel's consumer when a channel of that name exists, else an agent) is alive
 * for `ttl` seconds. The caller's parent process is recorded, but only the expiry decides liveness.
 */
export async function heartbeat(opts: CommonOptions & { name: string; ttl?: number | undefined }): Promise<Heartbeat> {
  const home = resolveHome(opts);
  const ttl = opts.ttl ?? DEFAULT_HEARTBEAT_TTL_S;
  if (!(ttl > 0)) throw new AbqError("E_USAGE", "--ttl must be more than 0 seconds");
  if (opts.name.trim() === "") throw new AbqError("E_USAGE", "give a name: an agent or a channel");
  // Not a channel name, or no such channel: an agent's heartbeat.
  const name = opts.name;
  const isChannel =
    isChannelName(name) && (await pathExists(join(queueOf(home, name).dir, "requests")).catch(() => false));
  const channel = isChannel ? name : undefined;
  const agent = await callerAgent(opts);
  return writeHeartbeat(home, { name: opts.name, channel, agent, pid: process.ppid, watch: false, ttl_s: ttl });
}

export function agents(opts: CommonOptions = {}): Promise<HeartbeatStatus[]> {
  return listHeartbeats(resolveHome(opts));
}

/** An agent as a correspondent: its identity, inbox, presence, and the mail waiting in its inbox. */
export interface AgentMailbox extends KnownAgent {
  /** Messages pending in its inbox (0 when the inbox does not exist yet). */
  pending: number;
}

/**
 * Every agent this bus knows (from heartbeats and inbox channels), one row per agent rather than per
 * process, with what waits in its inbox: whom you can write to, and who would read it now.
 */
export function mailboxes(opts: CommonOptions = {}): Promise<AgentMailbox[]> {
  return withTransport(opts, async (t) => {
    const known = await knownAgents({ home: resolveHome(opts), transport: t });
    const inspect = t.capabilities.has("inspect") ? capable(t, "inspect") : undefined;
    return Promise.all(
      known.map(async (a) => ({
        ...a,
        pending: (await inspect?.count(a.inbox, "requests", {}).catch(() => 0)) ?? 0,
      })),
    );
  });
}

/** Live consumers of a channel (empty when none). */
export async function consumers(opts: CommonOptions & { channel: string }): Promise<HeartbeatStatus[]> {
  return channelAlive(resolveHome(opts), channelName(await resolveAddress(opts.channel, opts)));
}

export async function doctor(opts: CommonOptions & { fix?: boolean | undefined } = {}): Promise<DoctorReport> {
  const actor = await callerAgent(opts);
  return runDoctor(resolveHome(opts), { fix: opts.fix ?? false, actor });
}
