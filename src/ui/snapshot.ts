/**
 * What the page shows live, computed on the server from the library: every queue's counts (`status`,
 * exactly what `abq status --json` prints), channel kinds, agents with their presence and the claims they
 * hold, and the rate sparklines. Message lists are not in it: the page fetches one page of the queue it
 * shows (api.ts), so a deep backlog costs one folder count per update, never a read of every message.
 */
import { listChannels, status } from "../api/channels.ts";
import { mailboxes } from "../api/liveness.ts";
import type { CommonOptions } from "../api/options.ts";
import type { Capability, ChannelStatus, Transport } from "../lifecycle/transport.ts";
import { capable } from "../lifecycle/transport.ts";
import { COUNTED_STATES } from "../lifecycle/states.ts";
import { queueKey, type Rates, type RateSeries } from "./rates.ts";
import type { SpoolIndex } from "./spool-index.ts";

/** The most claims shown per queue in the agents' "working on" column (the rest are counted). */
const CLAIMS_PER_QUEUE = 10;

export interface ClaimRow {
  channel: string;
  subscriber?: string | undefined;
  id: string;
  attempt: number;
  deadline: string;
  pid: number;
  host: string;
}

export interface AgentRow {
  agent: string;
  inbox?: string | undefined;
  live: boolean;
  last_seen?: string | undefined;
  /** Messages waiting in its inbox. */
  inbox_pending: number;
  /** Claims whose lease names this agent (at most CLAIMS_PER_QUEUE per queue are looked at). */
  claims: ClaimRow[];
}

export interface QueueRow extends ChannelStatus {
  key: string;
  kind: "queue" | "topic";
}

export interface Snapshot {
  at: string;
  scheme: string;
  capabilities: Capability[];
  /** The bus: its home folder, or its URL without a password. */
  bus: string;
  /** Who the dashboard acts as (recorded in the event log for its actions). */
  agent: string;
  channels: QueueRow[];
  agents: AgentRow[];
  rates: Record<string, RateSeries>;
  /** How long this snapshot took to compute, in ms. */
  cost_ms: number;
}

export interface SnapshotContext {
  transport: Transport;
  common: CommonOptions;
  bus: string;
  agent: string;
  rates: Rates;
  /** On the file spool: counts kept from watch events (spool-index.ts) instead of listing each folder. */
  index?: SpoolIndex | undefined;
  /** Take this snapshot with the library's `status()` (its safety checks, every folder listed). */
  full?: boolean | undefined;
}

export async function takeSnapshot(ctx: SnapshotContext): Promise<Snapshot> {
  const started = Date.now();
  const opts = { ...ctx.common, transport: ctx.transport };
  const t = ctx.transport;
  const [infos, boxes] = await Promise.all([listChannels(opts), mailboxes(opts).catch(() => [])]);
  const queues = infos.flatMap((c) => [
    { name: c.name },
    ...(c.subscribers ?? []).map((s) => ({ name: c.name, subscriber: s })),
  ]);
  const index = ctx.index;
  // A full snapshot also (re)reads the index, so the watches are in place for the next one.
  const fromIndex = index !== undefined ? await index.status(queues) : undefined;
  const rows = fromIndex === undefined || ctx.full === true ? await status(opts) : fromIndex;
  ctx.rates.observe(rows);
  const kinds = new Map(infos.map((c) => [c.name, c.kind]));
  const channels = rows.map((r) => ({
    ...Object.fromEntries(COUNTED_STATES.map((s) => [s, 0])),
    ...r,
    key: queueKey(r),
    kind: kinds.get(r.name) ?? "queue",
  })) as QueueRow[];
  const agents = new Map<string, AgentRow>();
  for (const b of boxes) {
    const name = b.agent ?? `(inbox ${b.inbox})`;
    agents.set(name, {
      agent: name,
      inbox: b.inbox,
      live: b.live,
      last_seen: b.last_seen,
      inbox_pending: b.pending,
      claims: [],
    });
  }
  for (const claim of await claimsOf(t, rows)) {
    const row = agents.get(claim.agent) ?? { agent: claim.agent, live: false, inbox_pending: 0, claims: [] };
    const { agent, ...rest } = claim;
    row.claims.push(rest);
    agents.set(agent, row);
  }
  return {
    at: new Date().toISOString(),
    scheme: t.scheme,
    capabilities: [...t.capabilities],
    bus: ctx.bus,
    agent: ctx.agent,
    channels,
    agents: [...agents.values()].sort((a, b) => Number(b.live) - Number(a.live) || (a.agent < b.agent ? -1 : 1)),
    rates: ctx.rates.snapshot(),
    cost_ms: Date.now() - started,
  };
}

/** The leases of claimed messages, oldest claims first, a few per queue: who is working on what. */
async function claimsOf(t: Transport, rows: ChannelStatus[]): Promise<Array<ClaimRow & { agent: string }>> {
  if (!t.capabilities.has("inspect")) return [];
  const inspect = capable(t, "inspect");
  const out: Array<ClaimRow & { agent: string }> = [];
  for (const row of rows.filter((r) => r.processing > 0)) {
    const as = row.subscriber;
    const entries = await inspect
      .list(row.name, "processing", { limit: CLAIMS_PER_QUEUE, oldestFirst: true, as })
      .catch(() => []);
    for (const e of entries) {
      // A claim settled meanwhile is simply not shown.
      const found = await inspect.find(e.id, row.name).catch(() => undefined);
      const lease = found?.lease;
      if (lease === undefined) continue;
      out.push({
        agent: lease.owner.agent,
        channel: row.name,
        ...(as !== undefined ? { subscriber: as } : {}),
        id: e.id,
        attempt: lease.attempt,
        deadline: lease.deadline,
        pid: lease.owner.pid,
        host: lease.owner.host,
      });
    }
  }
  return out;
}
