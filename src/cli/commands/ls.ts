import { type Command, Option } from "commander";
import type { Request } from "../../protocol/schema.ts";
import type { ListEntry } from "../../lifecycle/transport.ts";
import { commonOptions, escapeControls, formatAge, oneLine, printNdjson, printText, table } from "../output.ts";
import { withExamples } from "../help.ts";
import { suggestChoice } from "../suggest.ts";
import { reasonSummary } from "../views.ts";
import { parseCount } from "./parse.ts";

interface LsFlags {
  limit?: number;
  oldest?: boolean;
  count?: boolean;
  as?: string;
  json?: boolean;
}

export function registerLs(program: Command): void {
  const ls = program
    .command("ls <channel> [state]")
    .description("list messages in one state (default: requests, i.e. pending); abq ls --help names every state")
    .addOption(new Option("-n, --limit <n>", "show at most n messages (default 20)").argParser(parseCount))
    .option("-o, --oldest", "oldest first (default newest first)")
    .option("-c, --count", "print only the number of messages")
    .option("--as <subscriber>", "list a topic subscriber's copies")
    .option("--json", "one JSON object per message (NDJSON), with its `reason` where the state keeps one")
    .action(async (channel: string, state: string | undefined, opts: LsFlags, cmd: Command) => {
      const { count, list, LIST_WORDS, describeListStates } = await import("../../index.ts");
      if (state !== undefined) suggestChoice("state", state, LIST_WORDS.keys(), describeListStates());
      const query = {
        ...commonOptions(cmd),
        channel,
        state,
        as: opts.as,
        limit: opts.limit,
        oldestFirst: opts.oldest ?? false,
      };
      if (opts.count) {
        const n = await count(query);
        return opts.json ? printNdjson([{ channel, state: state ?? "requests", count: n }]) : printText(String(n));
      }
      const entries = await list(query);
      if (opts.json) return printNdjson(entries.map(toJson));
      // Dead letters, expired, rejected and archived messages say why they are there, in a column of their own.
      const withReason = entries.some((e) => e.reason !== undefined);
      if (entries.length > 0) printText(table(entries.map((e) => toRow(e, withReason))));
    });
  withExamples(ls, "abq ls reviews", "abq ls reviews dead -n 5", "abq ls reviews processing --oldest --count");
  // The state words come from the library's state table (src/lifecycle/states.ts). Loading it for every
  // `abq --help` would load the whole library, so `ls` fills its description in only when it runs itself
  // (`abq ls …`, `abq ls --help`, `abq help ls`): commander awaits this hook before parsing `ls`.
  program.hook("preSubcommand", async (_program, sub) => {
    if (sub !== ls) return;
    const { describeListStates } = await import("../../index.ts");
    ls.description(lsDescription(describeListStates()));
  });
}

/** `ls`'s description, naming every state word (the man page, scripts/man.mjs, uses it too). */
export function lsDescription(states: string): string {
  return `list messages in one state: ${states}; default requests`;
}

function toJson(e: ListEntry): unknown {
  const base = e.message ?? { id: e.id, file: e.file, problem: e.problem };
  return e.reason !== undefined ? { ...base, reason: e.reason } : base;
}

function toRow(e: ListEntry, withReason: boolean): string[] {
  // A delayed message's mtime is when it is due, so its "age" is how soon that is.
  const ms = Date.now() - e.mtimeMs;
  const age = ms < 0 ? `in ${formatAge(-ms)}` : formatAge(ms);
  const reason = withReason ? [reasonSummary(e.reason) || "-"] : [];
  if (!e.message) return [e.id, "?", "?", age, ...reason, `(${e.problem ?? "unreadable"})`];
  const from = escapeControls(e.message.from.agent);
  if ("type" in e.message) {
    const m = e.message as Request;
    return [m.id, m.type, from, age, ...reason, oneLine(m.content)];
  }
  const r = e.message;
  return [r.id, r.status, from, age, ...reason, oneLine(r.status === "error" ? (r.error ?? r.result) : r.result)];
}
