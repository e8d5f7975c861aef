import { type Command, Option } from "commander";
import { commonOptions, escapeControls, printJson, printText } from "../output.ts";
import { interruptible } from "../signals.ts";
import { parseTimeout } from "./parse.ts";

interface WaitFlags {
  timeout?: number;
  as?: string;
  json?: boolean;
}

export function registerWait(program: Command): void {
  program
    .command("wait <channel>")
    .description("sleep until a message is pending, without claiming it (exit 5 on timeout)")
    .addOption(
      new Option("-t, --timeout <duration>", "give up after this long (default: no limit; 0 looks once)").argParser(
        parseTimeout,
      ),
    )
    .option("--as <subscriber>", "wait for a topic subscriber's copies")
    .option("--json", "print {channel, pending, messages: [...]} as JSON")
    .action(async (channel: string, opts: WaitFlags, cmd: Command) => {
      const { waitForMail } = await import("../../index.ts");
      const { summaryLine } = await import("../../inbox/format.ts");
      const summary = await interruptible((signal) =>
        waitForMail({ ...commonOptions(cmd), channel, as: opts.as, timeout: opts.timeout, signal }),
      );
      if (opts.json) printJson(summary);
      else printText(escapeControls(summaryLine(summary)));
    });
}
