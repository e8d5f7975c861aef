import { type Command, Option } from "commander";
import type { RequeueResult } from "../../lifecycle/records.ts";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printNdjson, printText, table } from "../output.ts";
import { withProgress } from "../progress.ts";
import { checkId, parseDuration } from "./parse.ts";

interface RequeueFlags {
  olderThan?: number;
  deadOwners?: boolean;
  id?: string[];
  fromDead?: boolean;
  dryRun?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function registerRequeue(program: Command): void {
  const requeueCmd = program
    .command("requeue [channel]")
    .description(
      "put claims whose worker is gone back in the queue (never a live worker's); --from-dead revives dead letters",
    )
    .addOption(
      new Option("--older-than <duration>", "claims older than this, e.g. 90s, 10m, 2h (default: any age)").argParser(
        parseDuration,
      ),
    )
    .option("--dead-owners", "also claims whose owner process on this host has exited, before their lease ends")
    .option("--id <id...>", "only these messages")
    .option("--from-dead", "move dead letters back to the queue with a fresh attempt count")
    .option("--dry-run", "say what would happen to each message, change nothing")
    .option("-v, --verbose", "a line per message (action, channel, id, reason, owner) before the summary")
    .option("-q, --quiet", "no progress line or timing on a terminal")
    .option("--json", "one JSON object per message (NDJSON)")
    .action(async (channel: string | undefined, opts: RequeueFlags, cmd: Command) => {
      const { requeue } = await import("../../index.ts");
      const { result: results, summary: done } = await withProgress(
        `requeueing${channel !== undefined ? ` ${channel}` : ""}`,
        opts,
        () =>
          requeue({
            ...commonOptions(cmd),
            channel,
            olderThanMs: opts.olderThan,
            deadOwners: opts.deadOwners,
            ids: opts.id?.map(checkId),
            fromDead: opts.fromDead,
            dryRun: opts.dryRun,
          }),
      );
      if (opts.json) return printNdjson(results);
      // 20 000 lines help nobody: the default is the totals; -v (and a dry run, which is for reading) lists.
      if ((opts.verbose || opts.dryRun) && results.length > 0) printRows(results);
      done(summary(results, opts.dryRun ?? false));
    });
  withExamples(
    requeueCmd,
    "abq requeue reviews",
    "abq requeue --dead-owners --dry-run",
    "abq requeue reviews --from-dead -v",
  );
}

/** `Requeued 3 message(s): 2 requeued, 1 dead` (or what a dry run would do), one line. */
function summary(results: RequeueResult[], dryRun: boolean): string {
  if (results.length === 0) return dryRun ? "Nothing to requeue" : "Nothing requeued";
  const by = new Map<string, number>();
  for (const r of results) by.set(r.action, (by.get(r.action) ?? 0) + 1);
  const parts = [...by].map(([action, n]) => `${n} ${action}`).join(", ");
  return `${dryRun ? "Dry run, nothing changed: " : ""}${results.length} message(s): ${parts}`;
}

function printRows(results: RequeueResult[]): void {
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
