import { type Command, InvalidArgumentError, Option } from "commander";
import { withExamples } from "../help.ts";
import { messageRows } from "../message-rows.ts";
import { commonOptions, printNdjson, printText } from "../output.ts";
import { countUpTo, parseDuration } from "./parse.ts";

interface SearchFlags {
  from?: string;
  channel?: string;
  since?: Date;
  text?: string;
  thread?: string;
  limit?: number;
  json?: boolean;
}

/** The most matches `-n` may ask for (the library's MAX_SEARCH_LIMIT; not imported, to keep help fast). */
const MAX_LIMIT = 1000;

export function registerSearch(program: Command): void {
  const search = program
    .command("search")
    .description("find messages by sender, channel, time, text or thread: pending, delayed, claimed and done")
    .option("--from <agent>", "sent by this agent: its identity, or a suffix such as api/main")
    .option("--channel <channel>", "in this channel, or an inbox: @self, @parent, an agent's name")
    .addOption(new Option("--since <when>", "sent within a duration (10m, 7d) or since an ISO time").argParser(since))
    .option("--text <text>", "content (or an archived message's answer) contains this, ignoring case")
    .option("--thread <id>", "in this conversation: the message with this id and its replies")
    .addOption(
      new Option("-n, --limit <n>", `show at most n matches, newest first (default 50, max ${MAX_LIMIT})`).argParser(
        countUpTo(MAX_LIMIT),
      ),
    )
    .option("--json", "one JSON object per match (NDJSON): {channel, state, request, response}")
    .action(async (opts: SearchFlags, cmd: Command) => {
      const { search, AbqError } = await import("../../index.ts");
      const { from, channel, since, text, thread } = opts;
      if ([from, channel, since, text, thread].every((v) => v === undefined)) {
        throw new AbqError("E_USAGE", "give at least one filter: --from, --channel, --since, --text or --thread");
      }
      const matches = await search({ ...commonOptions(cmd), from, channel, since, text, thread, limit: opts.limit });
      if (opts.json) return printNdjson(matches);
      printText(matches.length === 0 ? "No matches" : messageRows(matches).join("\n"));
    });
  withExamples(
    search,
    "abq search --text timeout --since 7d",
    "abq search --from api/main --channel reviews -n 10",
    'abq search --thread "$id" --json | jq -r .request.content',
  );
}

/** `--since`: a duration ago (10m, 7d) or an ISO time. */
function since(value: string): Date {
  try {
    return new Date(Date.now() - parseDuration(value));
  } catch {
    const ms = /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(ms)) {
      throw new InvalidArgumentError(`'${value}' is neither a duration (10m, 7d) nor an ISO time (2026-01-31T12:00Z)`);
    }
    return new Date(ms);
  }
}
