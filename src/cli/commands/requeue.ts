import { type Command, Option } from "commander";
import type { RequeueResult } from "../../lifecycle/records.ts";
import { commonOptions, escapeControls, printNdjson, printText, table } from "../output.ts";
import { checkId, parseDuration } from "./parse.ts";

interface RequeueFlags {
  olderThan?: number;
  deadOwners?: boolean;
  id?: string[];
  fromDead?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export function registerRequeue(program: Command): void {
  program
    .command("requeue [channel]")
    .description(
      "put claims whose worker is gone back in the queue (never a live worker's); --from-dead revives dead letters",
    )
    .addOption(
      new Option("--older-than <duration>", "claims older than this, e.g. 90s, 10m, 2h").argParser(parseDuration),
    )
    .option("--dead-owners", "also claims whose owner process on this host has exited, before their lease ends")
    .option("--id <id...>", "only these messages")
    .option("--from-dead", "move dead letters back to the queue with a fresh attempt count")
    .option("--dry-run", "say what would happen, change nothing")
    .option("--json", "one JSON object per message (NDJSON)")
    .action(async (channel: string | undefined, opts: RequeueFlags, cmd: Command) => {
      const { requeue } = await import("../../index.ts");
      const results = await requeue({
        ...commonOptions(cmd),
        channel,
        olderThanMs: opts.olderThan,
        deadOwners: opts.deadOwners,
        ids: opts.id?.map(checkId),
        fromDead: opts.fromDead,
        dryRun: opts.dryRun,
      });
      if (opts.json) return printNdjson(results);
      printRows(results, opts.dryRun ?? false);
    });
}

function printRows(results: RequeueResult[], dryRun: boolean): void {
  if (results.length === 0) return printText(dryRun ? "Nothing to requeue" : "Nothing requeued");
  printText(
    table(
      results.map((r) => [
        r.action,
        r.subscriber !== undefined ? `${r.channel} (as ${r.subscriber})` : r.channel,
        r.id,
        escapeControls(r.reason),
        escapeControls(r.owner ?? ""),
      ]),
    ),
  );
}
