import type { Command } from "commander";
import type { SweepReport } from "../../lifecycle/transport.ts";
import { EXIT } from "../exit.ts";
import { withExamples } from "../help.ts";
import { commonOptions, oneLine, printNdjson, printText, table, writeOut } from "../output.ts";
import { withProgress } from "../progress.ts";

export function registerSweep(program: Command): void {
  const sweepCmd = program
    .command("sweep [channel]")
    .description(
      "all maintenance, safe from cron and while watchers run: requeue lost claims (or dead-letter them), " +
        "promote due delayed messages, move expired ones to expired/, prune, tidy",
    )
    .option("--dry-run", "say what would happen, change nothing")
    .option("-q, --quiet", "no progress line or timing on a terminal")
    .option("--json", "one JSON report per queue (NDJSON), then {attachments} on a bus with attachment blobs")
    .action(async (channel: string | undefined, opts: SweepFlags, cmd: Command) => {
      const { sweep, sweepAttachments } = await import("../../index.ts");
      const { result, summary } = await withProgress(
        `sweeping${channel !== undefined ? ` ${channel}` : ""}`,
        opts,
        async () => {
          const queues = await sweep({ ...commonOptions(cmd), channel, dryRun: opts.dryRun });
          // Blobs no message references any more: only a whole-bus sweep sees every reference.
          const blobs =
            channel === undefined ? await sweepAttachments({ ...commonOptions(cmd), dryRun: opts.dryRun }) : undefined;
          return { queues, blobs };
        },
      );
      const reports = result.queues;
      if (result.blobs !== undefined && !opts.json && result.blobs.removed > 0)
        printText(
          `${opts.dryRun ? "Would remove" : "Removed"} ${result.blobs.removed} attachment blob(s) no message references (${result.blobs.bytes_removed} bytes)`,
        );
      // A broken queue does not stop the sweep of the others; it is reported, and the exit code says so.
      const broken = reports.filter((r) => r.error !== undefined);
      for (const r of broken) writeOut(2, `abq: ${oneLine(`${queueName(r)}: ${r.error!.message}`, 400)}\n`);
      if (broken.length > 0) process.exitCode = EXIT.IO;
      // The blob report is a line of its own, only on a bus that has attachment blobs: scripts that read
      // one report per queue see nothing new until attachments are used.
      const blobs =
        result.blobs !== undefined && result.blobs.removed + result.blobs.kept > 0 ? result.blobs : undefined;
      if (opts.json) return printNdjson(blobs !== undefined ? [...reports, { attachments: blobs }] : reports);
      const rows = reports.filter((r) => changed(r) > 0).map(toRow);
      if (rows.length === 0) return summary(`Nothing to do (${reports.length} queue(s) checked)`);
      printText(`${opts.dryRun ? "Dry run, nothing changed; would have:\n" : ""}${table(rows)}`);
      summary(`${opts.dryRun ? "Would sweep" : "Swept"} ${reports.length} queue(s): ${totals(reports)}`);
    });
  withExamples(sweepCmd, "abq sweep", "abq sweep reviews --dry-run", "abq sweep --json | jq -c 'select(.pruned > 0)'");
}

interface SweepFlags {
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** `2 requeued, 1 expired, 40 pruned`: what all queues together had done to them (counts above zero). */
function totals(reports: SweepReport[]): string {
  const sum = new Map<string, number>();
  const add = (what: string, n: number): void => void sum.set(what, (sum.get(what) ?? 0) + n);
  for (const r of reports) {
    for (const x of r.requeued) if (x.action !== "kept") add(ACTION_WORDS[x.action] ?? x.action, 1);
    add("promoted", r.promoted);
    add("expired", r.expired.length);
    add("staging removed", r.staging_removed);
    add("pruned", r.pruned);
  }
  return [...sum]
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what}`)
    .join(", ");
}

const ACTION_WORDS: Record<string, string> = { "would-requeue": "requeued", dead: "dead-lettered" };

function changed(r: SweepReport): number {
  return (
    r.requeued.filter((x) => x.action !== "kept").length + r.promoted + r.expired.length + r.staging_removed + r.pruned
  );
}

function queueName(r: SweepReport): string {
  return r.subscriber !== undefined ? `${r.channel} (as ${r.subscriber})` : r.channel;
}

/** One queue's line: each outcome counted under the name of where it went. */
function toRow(r: SweepReport): string[] {
  const by = (action: string): number => r.requeued.filter((x) => x.action === action).length;
  const cells = [
    queueName(r),
    `requeued ${by("requeued") + by("would-requeue")}`,
    `delayed ${by("delayed")}`,
    `dead-lettered ${by("dead")}`,
    `expired ${r.expired.length} (to expired/)`,
    `promoted ${r.promoted} (delayed, now due)`,
    `staging ${r.staging_removed}`,
    `pruned ${r.pruned}`,
  ];
  const archived = by("archived");
  return archived > 0 ? [...cells, `archived ${archived}`] : cells;
}
