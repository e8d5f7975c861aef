/**
 * The MCP tools that look at the bus and tidy it: status, channels, ls, show, cancel, requeue. Counts and
 * states come from the library's state table, so a tool shows every state the CLI does.
 */
import { count, createChannel, list, listChannels, show, status } from "../api/channels.ts";
import { cancel } from "../api/messages.ts";
import type { CommonOptions } from "../api/options.ts";
import { requeue } from "../api/supervise.ts";
import { resolveIdentity } from "../identity/index.ts";
import { COUNTED_STATES, STATES } from "../lifecycle/states.ts";
import type { ChannelStatus, ListEntry } from "../lifecycle/transport.ts";
import { resolveHome } from "../spool/paths.ts";
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
      "Who you are (your agent name and inbox) and, per channel, how many messages are in each state " +
      `(${COUNTED_STATES.join(", ")}; like \`abq status\`).`,
    input: NoArgs,
    annotations: { readOnlyHint: true },
    run: async () => {
      const { inboxName } = await import("../identity/address.ts");
      const identity = await resolveIdentity({ cwd: common.cwd });
      const channels = (await status(common)).map(withEveryCount);
      return { home: resolveHome(common), agent: identity.agent, inbox: inboxName(identity.agent), channels };
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
      const query = { ...common, ...a, oldestFirst: a.oldest };
      const [entries, total] = await Promise.all([list(query), count(query)]);
      return { channel: a.channel, state: a.state, total, messages: entries.map(entryData) };
    },
  });

  tools.add("abq_show", {
    description:
      `Find a message in any channel and state (like \`abq show\`): its state (${SHOWN_STATES}), why it is there ` +
      "(reason: a dead letter's last error, an expired message's ttl, who withdrew or acknowledged it), the lease " +
      "of a claimed one, and its answer when it has one.",
    input: ShowTool,
    annotations: { readOnlyHint: true },
    run: async (a) => show({ ...common, ...a }),
  });

  tools.add("abq_cancel", {
    description: "Withdraw a message nobody has claimed yet (like `abq cancel`); E_CONFLICT once it is claimed.",
    input: CancelTool,
    annotations: { destructiveHint: true },
    run: async (a) => {
      await cancel({ ...common, ...a, ...(a.as !== undefined ? { as: a.as } : {}) });
      return { channel: a.channel, id: a.id, cancelled: true };
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
        channel: a.channel,
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
