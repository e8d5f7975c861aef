import { type Command, Option } from "commander";
import type { Request } from "../../protocol/schema.ts";
import type { ListEntry } from "../../transport.ts";
import { commonOptions, formatAge, oneLine, printNdjson, printText, table } from "../output.ts";
import { parseCount } from "./parse.ts";

interface LsFlags {
  limit?: number;
  oldest?: boolean;
  count?: boolean;
  as?: string;
  json?: boolean;
}

export function registerLs(program: Command): void {
  program
    .command("ls <channel> [state]")
    .description(
      "list messages in a state: requests (pending), processing (claimed), responses, archive (done), rejected",
    )
    .addOption(new Option("-n, --limit <n>", "show at most n messages (default 20)").argParser(parseCount))
    .option("-o, --oldest", "oldest first (default newest first)")
    .option("-c, --count", "print only the number of messages")
    .option("--as <subscriber>", "list a topic subscriber's copies")
    .option("--json", "one JSON object per message (NDJSON)")
    .action(async (channel: string, state: string | undefined, opts: LsFlags, cmd: Command) => {
      const { count, list } = await import("../../index.ts");
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
      if (entries.length > 0) printText(table(entries.map(toRow)));
    });
}

function toJson(e: ListEntry): unknown {
  return e.message ?? { id: e.id, file: e.file, problem: e.problem };
}

function toRow(e: ListEntry): string[] {
  const age = formatAge(Date.now() - e.mtimeMs);
  if (!e.message) return [e.id, "?", "?", age, `(${e.problem ?? "unreadable"})`];
  if ("type" in e.message) {
    const m = e.message as Request;
    return [m.id, m.type, m.from.agent, age, oneLine(m.content)];
  }
  const r = e.message;
  return [r.id, r.status, r.from.agent, age, oneLine(r.status === "error" ? (r.error ?? r.result) : r.result)];
}
