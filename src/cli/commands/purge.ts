import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerPurge(program: Command): void {
  program
    .command("purge <channel>")
    .description("move every pending message to the archive, with a reason (nothing is deleted)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--reason <text>", "why, recorded in archive/<id>_reason.json", "purged")
    .option("--json", "print {channel, purged: [ids]} as JSON")
    .action(async (channel: string, opts: { yes?: boolean; reason: string; json?: boolean }, cmd: Command) => {
      const { count, purge } = await import("../../index.ts");
      const common = commonOptions(cmd);
      if (!opts.yes) {
        const pending = await count({ ...common, channel, state: "requests" });
        if (!(await confirm(`Archive ${pending} pending message(s) of '${channel}'? [y/N] `))) {
          throw new AbqError("E_USAGE", "purge not confirmed", {
            hint: `pass --yes to purge without asking: abq purge ${channel} --yes`,
          });
        }
      }
      const ids = await purge({ ...common, channel, reason: opts.reason });
      if (opts.json) printJson({ channel, purged: ids });
      else printText(`Purged ${ids.length} message(s) from ${channel} into its archive`);
    });
}

/** Asks on the terminal; without one (scripts, CI) there is nobody to ask, so the answer is no. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
