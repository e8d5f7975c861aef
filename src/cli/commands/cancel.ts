import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerCancel(program: Command): void {
  const cancel = program
    .command("cancel <channel> <id>")
    .description("withdraw a message nobody has claimed yet (archived with a reason; exit 7 once claimed)")
    .option("--as <subscriber>", "withdraw a topic subscriber's copy")
    .option("--json", "print {channel, id, cancelled: true} as JSON")
    .action(async (channel: string, id: string, opts: { as?: string; json?: boolean }, cmd: Command) => {
      const { cancel } = await import("../../index.ts");
      await cancel({ ...commonOptions(cmd), channel, id, ...(opts.as !== undefined ? { as: opts.as } : {}) });
      if (opts.json) printJson({ channel, id, cancelled: true });
      else printText(`Cancelled: ${id}`);
    });
  withExamples(
    cancel,
    'id=$(abq send reviews command "review PR 42" --json | jq -r .id) && abq cancel reviews "$id"',
    'abq cancel news "$id" --as alice',
  );
}
