import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerInit(program: Command): void {
  const init = program
    .command("init")
    .description("create the bus directory (mode 0700), registry.json and the broadcast channel")
    .option("--json", "print the result as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { init } = await import("../../index.ts");
      const result = await init(commonOptions(cmd));
      if (opts.json) printJson(result);
      else printText(`${result.created ? "Initialized" : "Already initialized"}: ${result.home}`);
    });
  withExamples(init, "abq init", "abq --home ./bus init --json");
}
