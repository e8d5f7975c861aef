/**
 * The MCP tools that look at the bus and tidy it: status, channels, ls, show, cancel, requeue. Counts and
 * states come from the library's state table, so a tool shows every state the CLI does. Presence (who
 * is known and who is live) is part of abq_status rather than a tool of its own: every tool's definition
 * costs the client context on every turn.
 */
import { count, createChannel, list, listChannels, show, status } from "../api/channels.ts";
import { cancel } from "../api/messages.ts";
import type { CommonOptions } from "../api/options.ts";
import { requeue } from "../api/supervise.ts";
import { inboxName } from "../identity/address.ts";
import { knownAgents } from "../identity/directory.ts";
import { resolveIdentity } from "../identity/index.ts";
import { isAbqError } from "../protocol/errors.ts";
import { COUNTED_STATES, STATES } from "../lifecycle/states.ts";
import type { ChannelStatus, ListEntry } from "../lifecycle/transport.ts";
import { resolveHome } from "../spool/paths.ts";
import { optionalTarget, target } from "./address.ts";
import type { ToolSet } from "./registry.ts";
import { CancelTool, ChannelCreateTool, LsTool, NoArgs, RequeueTool, ShowTool } from "./schemas.ts";

/** The states a found message can be in (those a queue counts). */
const SHOWN_STATES = Object.values(STATES)
  .filter((s) => s.counted !== undefined)
  .map((s) => s.name)
  .join(", ");

export function addInspectionTools(tools: ToolSet, common: CommonOptions): void {
  tools.add("abq_status", {
    description:
      "Who you are (your agent name and inbox); the agents this bus knows, {agent, inbox, live, last_seen} " +
      "(address one by its agent name or a unique suffix such as api/main); and per channel, how many messages " +
      `are in each state (${COUNTED_STATES.join(", ")}; like \`abq status\`).`,
    input: NoArgs,
    annotations: { readOnlyHint: true },
    run: async () => {
      const identity = await resolveIdentity({ cwd: common.cwd });
      const [rows, agents] = await Promise.all([status(common), knownAgents(common)]);
      const channels = rows.map(withEveryCount);
      const home = resolveHome(common);
      return { home, agent: identity.agent, inbox: inboxName(identity.agent), agents, channels };
    },
  });

  tools.add("abq_channels", {
    description: "List channels with their kind and description (like `abq channel list`).",
    input: NoArgs,
    annotations: { readOnlyHint: true },
    run: async () => ({ channels: await listChannels(common) }),
  });

  tools.add("abq_channel_create", {
    description: "Create a channel (like `abq channel create`); creating one that exists is fine.",
    input: ChannelCreateTool,
    annotations: { idempotentHint: true },
    run: async (a) => {
      const { info, created } = await createChannel({ ...common, ...a });
      return { ...info, created };
    },
  });

  tools.add("abq_ls", {
    description:
      "List messages of a channel in one state without claiming them (like `abq ls`): pending ones by default. " +
      "Dead, expired, rejected and archived messages carry the reason they are there. " +
      "Returns {channel, state, total, messages}.",
    input: LsTool,
    annotations: { readOnlyHint: true },
    run: async (a) => {
      const queue = await target(common, a.channel);
      const query = { ...common, ...a, channel: queue.channel, oldestFirst: a.oldest };
      try {
        const [entries, total] = await Promise.all([list(query), count(query)]);
        return { channel: queue.channel, state: a.state, total, messages: entries.map(entryData) };
      } catch (err) {
        // An inbox nobody has written to yet is empty, not missing (inboxes are made on first use).
        if (!queue.inbox || !isAbqError(err) || err.code !== "E_NO_CHANNEL") throw err;
        return { channel: queue.channel, state: a.state, total: 0, messages: [] };
      }
    },
  });

  tools.add("abq_show", {
    description:
      `Find a message in any channel and state (like \`abq show\`): its state (${SHOWN_STATES}), why it is there ` +
      "(reason: a dead letter's last error, an expired message's ttl, who withdrew or acknowledged it), the lease " +
      "of a claimed one, and its answer when it has one.",
    input: ShowTool,
    annotations: { readOnlyHint: true },
    run: async (a) => show({ ...common, ...a, channel: (await optionalTarget(common, a.channel))?.channel }),
  });

  tools.add("abq_cancel", {
    description: "Withdraw a message nobody has claimed yet (like `abq cancel`); E_CONFLICT once it is claimed.",
    input: CancelTool,
    annotations: { destructiveHint: true },
    run: async (a) => {
      const { channel } = await target(common, a.channel);
      await cancel({ ...common, ...a, channel, ...(a.as !== undefined ? { as: a.as } : {}) });
      return { channel, id: a.id, cancelled: true };
    },
  });

  tools.add("abq_requeue", {
    description:
      "Take back claims whose worker is gone (like `abq requeue`): never a live worker's. With from_dead, revive dead " +
      "letters instead. Returns {results: [{channel, id, action, reason}]}, one entry per message.",
    input: RequeueTool,
    annotations: { destructiveHint: false },
    run: async (a) => ({
      results: await requeue({
        ...common,
        channel: (await optionalTarget(common, a.channel))?.channel,
        ids: a.id === undefined ? undefined : [a.id],
        deadOwners: a.dead_owners,
        fromDead: a.from_dead,
        dryRun: a.dry_run,
      }),
    }),
  });
}

/** A queue's row with every counted state under its own key (0 where the transport reported none). */
function withEveryCount(c: ChannelStatus): ChannelStatus {
  return { ...c, ...Object.fromEntries(COUNTED_STATES.map((s) => [s, c[s] ?? 0])) };
}

/** A listed message as stored, with the reason of its state where it has one (as `abq ls --json`). */
function entryData(e: ListEntry): object {
  const base = e.message ?? { id: e.id, file: e.file, problem: e.problem };
  return e.reason !== undefined ? { ...base, reason: e.reason } : base;
}
