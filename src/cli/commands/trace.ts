import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printNdjson, printText } from "../output.ts";
import { checkId } from "./parse.ts";

export function registerTrace(program: Command): void {
  const trace = program
    .command("trace <id>")
    .description("the history of one message: sent, claimed, renewed, answered, requeued, expired, dead …")
    .option("--channel <name>", "look only in this channel's log")
    .option("--json", "one JSON event per line (NDJSON)")
    .action(async (id: string, opts: { channel?: string; json?: boolean }, cmd: Command) => {
      const { trace } = await import("../../index.ts");
      const events = await trace({ ...commonOptions(cmd), id: checkId(id), channel: opts.channel });
      if (opts.json) return printNdjson(events);
      printText(
        events
          .map((e) =>
            [
              e.at,
              e.event.padEnd(9),
              escapeControls(e.actor),
              `pid ${e.pid}`,
              e.attempt !== undefined ? `attempt ${e.attempt}` : "",
              e.subscriber !== undefined ? `as ${e.subscriber}` : "",
              escapeControls(e.detail ?? ""),
            ]
              .filter((x) => x !== "")
              .join("  "),
          )
          .join("\n"),
      );
    });
  withExamples(trace, 'abq trace "$id"', 'abq trace "$id" --channel reviews --json | jq -r .event');
}
