import type { Command } from "commander";
import { commonOptions, printNdjson, printText, table } from "../output.ts";

export function registerSweep(program: Command): void {
  program
    .command("sweep [channel]")
    .description("all maintenance, safe from cron and while watchers run: requeue dead claims, expire, prune, tidy")
    .option("--dry-run", "say what would happen, change nothing")
    .option("--json", "one JSON report per queue (NDJSON)")
    .action(async (channel: string | undefined, opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const { sweep } = await import("../../index.ts");
      const reports = await sweep({ ...commonOptions(cmd), channel, dryRun: opts.dryRun });
      if (opts.json) return printNdjson(reports);
      const rows = reports
        .filter((r) => r.requeued.length + r.promoted + r.expired.length + r.stagingRemoved + r.pruned > 0)
        .map((r) => [
          r.subscriber !== undefined ? `${r.channel} (as ${r.subscriber})` : r.channel,
          `requeued ${r.requeued.filter((x) => x.action !== "kept").length} (incl. delayed/dead)`,
          `retried ${r.promoted}`,
          `expired ${r.expired.length}`,
          `staging ${r.stagingRemoved}`,
          `pruned ${r.pruned}`,
        ]);
      printText(rows.length > 0 ? table(rows) : `Nothing to do (${reports.length} queue(s) checked)`);
    });
}
