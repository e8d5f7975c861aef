/**
 * The MCP tools of `abq mcp`: one per CLI command an agent needs, named `abq_<command>`, with arguments
 * named like the CLI's flags and input schemas built from the library's own zod schemas (src/mcp/schemas.ts).
 * This module has the tools that send, claim and finish messages; src/mcp/tools-inspect.ts the others.
 *
 * Outcomes that are not failures for an agent come back as data: `ask` without an answer in time
 * (`answered: false`), `recv` on an empty queue (`claimed: false`), an error answer. A claim is finished
 * through the library's claim handle (respond, ack, release resume it by id), fenced by its lease token
 * when the agent passes it back: a claim taken over meanwhile is E_CONFLICT and nothing changes.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ack, ask, recv, release, respond, send } from "../api/messages.ts";
import type { CommonOptions } from "../api/options.ts";
import type { Skipped } from "../lifecycle/transport.ts";
import { isAbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { ToolSet } from "./registry.ts";
import { AckTool, AskTool, RecvTool, ReleaseTool, RespondTool, SendTool } from "./schemas.ts";
import { addInspectionTools } from "./tools-inspect.ts";

export { toolError } from "./registry.ts";

/** Registers every tool on `server`; `common` carries `--home`. The caller's identity is `cwd`'s git context. */
export function registerTools(server: McpServer, common: CommonOptions): string[] {
  const tools = new ToolSet();
  addMessageTools(tools, common);
  addInspectionTools(tools, common);
  return tools.serve(server);
}

function addMessageTools(tools: ToolSet, common: CommonOptions): void {
  tools.add("abq_send", {
    description: "Send a message to a channel (like `abq send`). Returns the stored message; its id is the handle.",
    input: SendTool,
    run: async (a) => send({ ...common, ...a, replyTo: a.reply_to }),
  });

  tools.add("abq_ask", {
    description:
      "Send a message and wait for its answer (like `abq ask`). Returns {answered: true, response} — " +
      "response.status is success or error — or, when no answer came within timeout, {answered: false, id}: " +
      "the request stays queued (look later with abq_show, or withdraw it with abq_cancel).",
    input: AskTool,
    run: async (a, extra) => {
      let sent: Request | undefined;
      try {
        const { request, response } = await ask({
          ...common,
          ...a,
          replyTo: a.reply_to,
          signal: extra.signal,
          onSent: (r) => (sent = r),
          onPending: (note: Response) => extra.progress(note.result),
        });
        return { answered: true, id: request.id, channel: request.to, response };
      } catch (err) {
        if (!isAbqError(err) || err.code !== "E_TIMEOUT" || sent === undefined) throw err;
        return {
          answered: false,
          id: sent.id,
          channel: sent.to,
          timeout: a.timeout,
          note: `no answer within ${a.timeout}s; the request stays queued: look later with abq_show, or withdraw it with abq_cancel`,
        };
      }
    },
  });

  tools.add("abq_recv", {
    description:
      "Claim the oldest pending message of a channel (like `abq recv`): it is yours to finish with abq_respond, " +
      "abq_ack or abq_release, passing lease.token back as lease. Returns {claimed: true, channel, message, lease, " +
      "path}, or {claimed: false} when the queue is empty (or nothing came within timeout); either way " +
      "skipped: {expired, rejected} lists what the claim set aside on its way (TTL ran out, invalid files).",
    input: RecvTool,
    run: async (a, extra) => {
      const skipped: Skipped = { expired: [], rejected: [] };
      const onSkipped = (s: Skipped): void => {
        skipped.expired.push(...s.expired);
        skipped.rejected.push(...s.rejected);
      };
      try {
        const claim = await recv({ ...common, ...a, signal: extra.signal, onSkipped });
        // The plain claim (its acts need an open transport; an agent finishes it by id with abq_respond…).
        return { claimed: true, ...claim.toJSON(), ...withSkipped(skipped) };
      } catch (err) {
        if (!isAbqError(err) || (err.code !== "E_EMPTY" && err.code !== "E_TIMEOUT")) throw err;
        return { claimed: false, channel: a.channel, reason: err.message, ...withSkipped(skipped) };
      }
    },
  });

  tools.add("abq_respond", {
    description:
      "Answer a message you claimed (like `abq respond`). status pending sends a progress note and keeps it claimed. " +
      "Returns the stored response.",
    input: RespondTool,
    run: async (a) => respond({ ...common, ...a }),
  });

  tools.add("abq_ack", {
    description:
      "Finish a message you claimed without an answer (like `abq ack`): archived as acknowledged; a sender " +
      "waiting with abq_ask is told so. Returns {channel, id, acknowledged: true}.",
    input: AckTool,
    run: async (a) => {
      await ack({ ...common, ...a });
      return { channel: a.channel, id: a.id, acknowledged: true };
    },
  });

  tools.add("abq_release", {
    description:
      "Give a message you claimed back to the queue (like `abq release`), at once or after delay seconds; it is " +
      "not counted as a failed attempt. Returns {channel, id, outcome: released|delayed, delay_s}.",
    input: ReleaseTool,
    run: async (a) => {
      const outcome = await release({ ...common, ...a });
      return { channel: a.channel, id: a.id, outcome, ...(a.delay !== undefined ? { delay_s: a.delay } : {}) };
    },
  });
}

/** `{skipped}` when the claim set something aside, else nothing: a claim never archives silently. */
function withSkipped(skipped: Skipped): { skipped?: Skipped } {
  return skipped.expired.length + skipped.rejected.length > 0 ? { skipped } : {};
}
