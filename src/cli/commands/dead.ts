import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, oneLine, printNdjson, printText, table } from "../output.ts";

export function registerDead(program: Command): void {
  const dead = program
    .command("dead <channel>")
    .description(
      "list dead letters: messages that ran out of attempts, with the last error (revive: abq requeue --from-dead)",
    )
    .option("--as <subscriber>", "a topic subscriber's dead letters")
    .option("--json", "one JSON object per message (NDJSON)")
    .action(async (channel: string, opts: { as?: string; json?: boolean }, cmd: Command) => {
      const { deadLetters } = await import("../../index.ts");
      const dead = await deadLetters({ ...commonOptions(cmd), channel, as: opts.as });
      if (opts.json) return printNdjson(dead);
      if (dead.length === 0) return printText(`No dead letters in ${channel}`);
      printText(
        table(
          dead.map((d) => [
            d.id,
            `attempts ${field(d.reason, "attempts", "?")}`,
            `exit ${field(d.reason, "exit_code", "-")}`,
            oneLine(field(d.reason, "error", field(d.reason, "reason", "")), 80),
          ]),
        ),
      );
    });
  withExamples(dead, "abq dead reviews", "abq dead reviews --json | jq -r .id", "abq requeue reviews --from-dead");
}

/** A scalar field of a reason record as text, or `fallback`. */
function field(record: Record<string, unknown> | undefined, key: string, fallback: string): string {
  const value = record?.[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}
