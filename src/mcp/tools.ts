/**
 * The MCP tools of `abq mcp`: one per CLI command an agent needs, named `abq_<command>`, with arguments
 * named like the CLI's flags and input schemas built from the library's own zod schemas (src/mcp/schemas.ts).
 * This module has the tools that send, claim and finish messages (abq_ask in src/mcp/tools-ask.ts);
 * src/mcp/tools-inspect.ts the others. Channel arguments resolve as the CLI's do (src/mcp/address.ts).
 *
 * Outcomes that are not failures for an agent come back as data: `ask` without an answer in time
 * (`answered: false`), `recv` on an empty queue (`claimed: false`), an error answer. A claim is finished
 * through the library's claim handle (respond, ack, release resume it by id), fenced by its lease token
 * when the agent passes it back: a claim taken over meanwhile is E_CONFLICT and nothing changes.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { recv, respond, send } from "../api/messages.ts";
import { ack, release } from "../api/claim-acts.ts";
import type { CommonOptions } from "../api/options.ts";
import type { Skipped } from "../lifecycle/transport.ts";
import { isAbqError } from "../protocol/errors.ts";
import { ensureInbox, optionalTarget, target } from "./address.ts";
import { ToolSet } from "./registry.ts";
import { AckTool, RecvTool, ReleaseTool, RespondTool, SendTool } from "./schemas.ts";
import { addAskTool } from "./tools-ask.ts";
import { addInspectionTools } from "./tools-inspect.ts";
import { addSearchTool } from "./tools-search.ts";
import { addCoordTools } from "./tools-coord.ts";
import { withLocalPaths } from "../attach/api.ts";
import { Session } from "./session.ts";

export { toolError } from "./registry.ts";

/**
 * Registers every tool on `server`; `common` carries `--home`. The caller's identity is `cwd`'s git context.
 * The message tools (the ones an agent calls in a loop) share `session`'s open transport (session.ts).
 */
export function registerTools(server: McpServer, common: CommonOptions, session = new Session(common)): string[] {
  const tools = new ToolSet();
  addMessageTools(tools, session);
  addInspectionTools(tools, common);
  addSearchTool(tools, common);
  addCoordTools(tools, common);
  return tools.serve(server);
}

function addMessageTools(tools: ToolSet, session: Session): void {
  tools.add("abq_send", {
    description: "Send a message to a channel (like `abq send`). Returns the stored message; its id is the handle.",
    input: SendTool,
    run: (a) =>
      session.use(async (common) => {
        const to = await target(common, a.channel);
        const replyTo = await optionalTarget(common, a.reply_to);
        await ensureInbox(common, replyTo);
        const sent = await send({
          ...common,
          ...a,
          channel: to.channel,
          create: a.create || to.inbox,
          replyTo: replyTo?.channel,
        });
        return withLocalPaths(sent, common);
      }),
  });

  addAskTool(tools, session);

  tools.add("abq_recv", {
    description:
      "Claim the oldest pending message of a channel (like `abq recv`): it is yours to finish with abq_respond, " +
      "abq_ack or abq_release, passing lease.token back as lease. Returns {claimed: true, channel, message, lease, " +
      "path}, or {claimed: false} when the queue is empty (or nothing came within timeout); either way " +
      "skipped: {expired, rejected} lists what the claim set aside on its way (TTL ran out, invalid files, refused senders).",
    input: RecvTool,
    run: (a, extra) =>
      session.use(async (common) => {
        const from = await target(common, a.channel);
        await ensureInbox(common, from);
        const skipped: Skipped = { expired: [], rejected: [] };
        const onSkipped = (s: Skipped): void => {
          skipped.expired.push(...s.expired);
          skipped.rejected.push(...s.rejected);
        };
        const started = Date.now();
        const stopHeartbeat = a.wait
          ? extra.keepAlive(() => {
              const waited = Math.round((Date.now() - started) / 1000);
              return `still waiting for a message in ${from.channel} (${waited}s of ${a.timeout}s)`;
            })
          : (): void => undefined;
        try {
          const claim = await recv({ ...common, ...a, channel: from.channel, signal: extra.signal, onSkipped });
          // The plain claim (its acts need an open transport; an agent finishes it by id with abq_respond…).
          const plain = claim.toJSON();
          return {
            claimed: true,
            ...plain,
            message: await withLocalPaths(plain.message, common),
            ...withSkipped(skipped),
          };
        } catch (err) {
          if (!isAbqError(err) || (err.code !== "E_EMPTY" && err.code !== "E_TIMEOUT")) throw err;
          return { claimed: false, channel: from.channel, reason: err.message, ...withSkipped(skipped) };
        } finally {
          stopHeartbeat();
        }
      }),
  });

  tools.add("abq_respond", {
    description:
      "Answer a message you claimed (like `abq respond`). status pending sends a progress note and keeps it claimed. " +
      "Returns the stored response.",
    input: RespondTool,
    run: (a) =>
      session.use(async (common) =>
        withLocalPaths(await respond({ ...common, ...a, channel: (await target(common, a.channel)).channel }), common),
      ),
  });

  tools.add("abq_ack", {
    description:
      "Finish a message you claimed without an answer (like `abq ack`): archived as acknowledged; a sender " +
      "waiting with abq_ask is told so. Returns {channel, id, acknowledged: true}.",
    input: AckTool,
    run: (a) =>
      session.use(async (common) => {
        const { channel } = await target(common, a.channel);
        await ack({ ...common, ...a, channel });
        return { channel, id: a.id, acknowledged: true };
      }),
  });

  tools.add("abq_release", {
    description:
      "Give a message you claimed back to the queue (like `abq release`), at once or after delay seconds; it is " +
      "not counted as a failed attempt. Returns {channel, id, outcome: released|delayed, delay_s}.",
    input: ReleaseTool,
    run: (a) =>
      session.use(async (common) => {
        const { channel } = await target(common, a.channel);
        const outcome = await release({ ...common, ...a, channel });
        return { channel, id: a.id, outcome, ...(a.delay !== undefined ? { delay_s: a.delay } : {}) };
      }),
  });
}

/** `{skipped}` when the claim set something aside, else nothing: a claim never archives silently. */
function withSkipped(skipped: Skipped): { skipped?: Skipped } {
  return skipped.expired.length + skipped.rejected.length > 0 ? { skipped } : {};
}
