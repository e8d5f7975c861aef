/**
 * The abq_search tool: `abq search` for agents. Its description stays short: every tool's definition
 * costs the client context on every turn (test/agents-mcp.test.ts budgets tools/list).
 */
import type { CommonOptions } from "../api/options.ts";
import { search } from "../api/search.ts";
import { parseDuration } from "../cli/commands/parse.ts";
import { AbqError, isAbqError } from "../protocol/errors.ts";
import { optionalTarget } from "./address.ts";
import type { ToolSet } from "./registry.ts";
import { SearchTool } from "./schemas.ts";

export function addSearchTool(tools: ToolSet, common: CommonOptions): void {
  tools.add("abq_search", {
    description:
      "Find messages (pending, delayed, claimed, done) by sender, channel, time, text or thread, newest first " +
      "(like `abq search`); give at least one filter. Returns {matches: [{channel, state, request, response?}]}.",
    input: SearchTool,
    annotations: { readOnlyHint: true },
    run: async (a) => {
      const where = await optionalTarget(common, a.channel);
      const since = a.since !== undefined ? sinceOf(a.since) : undefined;
      try {
        return { matches: await search({ ...common, ...a, channel: where?.channel, since }) };
      } catch (err) {
        // An inbox nobody has written to yet is empty, not missing (inboxes are made on first use).
        if (where?.inbox !== true || !isAbqError(err) || err.code !== "E_NO_CHANNEL") throw err;
        return { matches: [] };
      }
    },
  });
}

/** A duration ago (90s, 10m, 7d) as milliseconds, else the text itself (an ISO time, checked by search). */
function sinceOf(text: string): number | string {
  try {
    return parseDuration(text);
  } catch {
    if (/^\d{4}-\d\d-\d\d/.test(text)) return text;
    throw new AbqError("E_USAGE", `since: '${text}' is neither a duration (10m, 7d) nor an ISO time`);
  }
}
