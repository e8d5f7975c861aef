import type { Command } from "commander";
import { statusAction } from "../actions/status.ts";
import { withExamples } from "../help.ts";
import { commonOptions } from "../output.ts";

export function registerStatus(program: Command): void {
  const status = program
    .command("status")
    .description("message counts per channel, one per state, and who you are")
    .option("--json", "print {home, agent, channels: [{name, <one count per state>, ...}]} as JSON")
    .action((opts: { json?: boolean }, cmd: Command) => statusAction(commonOptions(cmd), opts.json ?? false));
  withExamples(status, "abq status", "abq status --json | jq -c '.channels[] | {name, pending}'");
}
