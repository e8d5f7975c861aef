import { type Command, Option } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText } from "../output.ts";
import { interruptible } from "../signals.ts";
import { parseTimeout } from "./parse.ts";

interface WaitFlags {
  timeout?: number;
  as?: string;
  json?: boolean;
}

export function registerWait(program: Command): void {
  const wait = program
    .command("wait <channel>")
    .description("sleep until a message is pending, without claiming it (exit 5 on timeout)")
    .addOption(
      new Option(
        "-t, --timeout <duration>",
        "give up after this long, e.g. 30s, 10m (default: no limit; 0 looks once)",
      ).argParser(parseTimeout),
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
  withExamples(wait, "abq wait reviews --timeout 10m && abq recv reviews", "abq wait @self --json");
}
