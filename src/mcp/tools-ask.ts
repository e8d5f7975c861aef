/**
 * `abq_ask`: send and wait for the answer, in a way MCP clients can live with.
 *
 * - The first progress notification (when the client sent a progressToken) carries the request's id,
 *   before the wait starts: a client that gives up or is cancelled still knows what it left queued.
 * - While the wait is silent, a progress heartbeat goes out every few seconds (registry.ts), so a client
 *   that resets its timeout on progress keeps a long wait alive. Progress notes from the other side
 *   (`pending` answers) are forwarded as they come.
 * - No answer in time is data, not an error: `{answered: false, id, withdraw}`, naming the abq_cancel
 *   call that withdraws the request.
 */
import { ask } from "../api/messages.ts";
import { isAbqError } from "../protocol/errors.ts";
import type { Request, Response } from "../protocol/schema.ts";
import { ensureInbox, optionalTarget, target } from "./address.ts";
import type { ToolSet } from "./registry.ts";
import { AskTool } from "./schemas.ts";
import { withLocalPaths } from "../attach/api.ts";
import type { Session } from "./session.ts";

export function addAskTool(tools: ToolSet, session: Session): void {
  tools.add("abq_ask", {
    description:
      "Send a message and wait for its answer (like `abq ask`). Returns {answered: true, response} — " +
      "response.status is success or error — or, when no answer came within timeout, {answered: false, id, " +
      "withdraw}: the request stays queued (look later with abq_show, or withdraw it with abq_cancel). " +
      "The first progress notification names the request id.",
    input: AskTool,
    run: (a, extra) =>
      session.use(async (common) => {
        const to = await target(common, a.channel);
        const replyTo = await optionalTarget(common, a.reply_to);
        await ensureInbox(common, replyTo);
        let sent: Request | undefined;
        let stopHeartbeat = (): void => undefined;
        const started = Date.now();
        try {
          const { request, response } = await ask({
            ...common,
            ...a,
            channel: to.channel,
            create: a.create || to.inbox,
            replyTo: replyTo?.channel,
            signal: extra.signal,
            onSent: (r) => {
              sent = r;
              extra.progress(`sent ${r.id} to ${r.to}; waiting up to ${a.timeout}s for its answer`);
              stopHeartbeat = extra.keepAlive(() => {
                const waited = Math.round((Date.now() - started) / 1000);
                return `still waiting for the answer to ${r.id} (${waited}s of ${a.timeout}s)`;
              });
            },
            onPending: (note: Response) => extra.progress(note.result),
          });
          return {
            answered: true,
            id: request.id,
            channel: request.to,
            response: await withLocalPaths(response, common),
          };
        } catch (err) {
          if (!isAbqError(err) || err.code !== "E_TIMEOUT" || sent === undefined) throw err;
          return {
            answered: false,
            id: sent.id,
            channel: sent.to,
            timeout: a.timeout,
            withdraw: { tool: "abq_cancel", arguments: { channel: sent.to, id: sent.id } },
            note:
              `no answer within ${a.timeout}s; the request ${sent.id} stays queued: look later with abq_show, ` +
              `or withdraw it with abq_cancel (channel: "${sent.to}", id: "${sent.id}")`,
          };
        } finally {
          stopHeartbeat();
        }
      }),
  });
}
