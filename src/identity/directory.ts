/**
 * The agents a bus knows: every agent that left a heartbeat in `$ABQ_HOME/agents` (an MCP session, a
 * watcher, `abq heartbeat`), and every inbox channel that exists. An address such as `api/main` is
 * looked up here (src/identity/address.ts), and `abq_status` lists these as presence.
 *
 * An inbox channel alone does not give its agent back (the `inbox.<slug>` rule turns `/` into `.`), so
 * such an agent is matched on its slug; a heartbeat carries the identity itself and is matched on that.
 */
import { listHeartbeats } from "../liveness/heartbeat.ts";
import { capable, type Transport } from "../lifecycle/transport.ts";
import { listDir } from "../spool/files.ts";
import { channelsDir, resolveHome } from "../spool/paths.ts";
import { INBOX_PREFIX, inboxName } from "./index.ts";

export interface KnownAgent {
  /** The identity, when a heartbeat names it; unknown for an inbox nobody has announced. */
  agent?: string | undefined;
  /** Its inbox channel (which may not exist yet: inboxes are made on first use). */
  inbox: string;
  /** Some heartbeat of this agent is live: it is running now. */
  live: boolean;
  /** When it last announced itself (its newest heartbeat), if ever. */
  last_seen?: string | undefined;
}

export interface DirectoryOptions {
  home?: string | undefined;
  /** List channels through this transport (a NATS bus); default: the local spool's folders. */
  transport?: Transport | undefined;
}

/** Known agents, one per inbox, in inbox order. */
export async function knownAgents(opts: DirectoryOptions = {}): Promise<KnownAgent[]> {
  const home = resolveHome(opts);
  const byInbox = new Map<string, KnownAgent>();
  for (const hb of await listHeartbeats(home)) {
    const inbox = inboxName(hb.agent);
    const seen = byInbox.get(inbox);
    const last = seen?.last_seen !== undefined && seen.last_seen > hb.at ? seen.last_seen : hb.at;
    byInbox.set(inbox, { agent: hb.agent, inbox, live: (seen?.live ?? false) || hb.live, last_seen: last });
  }
  for (const name of await channelNames(home, opts.transport)) {
    if (name.startsWith(INBOX_PREFIX) && !byInbox.has(name)) byInbox.set(name, { inbox: name, live: false });
  }
  return [...byInbox.values()].sort((a, b) => (a.inbox < b.inbox ? -1 : a.inbox > b.inbox ? 1 : 0));
}

async function channelNames(home: string, transport: Transport | undefined): Promise<string[]> {
  if (transport?.capabilities.has("admin") === true) {
    return (await capable(transport, "admin").listChannels()).map((c) => c.name);
  }
  return listDir(channelsDir(home));
}

/**
 * The agents `name` addresses: those whose identity is exactly `name` (case aside) if any, else those it
 * is a suffix of, whole segments only (`api/main` matches `github.com/acme/api/main`, not `.../myapi/main`).
 */
export function matchAgents(known: readonly KnownAgent[], name: string): KnownAgent[] {
  const wanted = name.toLowerCase();
  const slug = inboxName(name).slice(INBOX_PREFIX.length);
  const exact: KnownAgent[] = [];
  const suffix: KnownAgent[] = [];
  for (const k of known) {
    const [full, part, sep] =
      k.agent !== undefined ? [k.agent.toLowerCase(), wanted, "/"] : [k.inbox.slice(INBOX_PREFIX.length), slug, "."];
    if (full === part) exact.push(k);
    else if (full.endsWith(`${sep}${part}`)) suffix.push(k);
  }
  return exact.length > 0 ? exact : suffix;
}

/** How a known agent is named in messages: its identity, else its inbox. */
export function agentLabel(k: KnownAgent): string {
  return k.agent ?? k.inbox;
}
