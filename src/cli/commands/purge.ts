import { isTerminal } from "../terminal.ts";
import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { withExamples } from "../help.ts";
import { commonOptions, printJson } from "../output.ts";
import { withProgress } from "../progress.ts";

export function registerPurge(program: Command): void {
  const purgeCmd = program
    .command("purge <channel>")
    .description("move every pending message to the archive, with a reason (nothing is deleted)")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--reason <text>", "why, recorded in archive/<id>_reason.json", "purged")
    .option("-q, --quiet", "no progress line or timing on a terminal")
    .option("--json", "print {channel, purged: [ids]} as JSON")
    .action(
      async (
        channel: string,
        opts: { yes?: boolean; reason: string; quiet?: boolean; json?: boolean },
        cmd: Command,
      ) => {
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
        const { result: ids, summary } = await withProgress(`purging ${channel}`, opts, () =>
          purge({ ...common, channel, reason: opts.reason }),
        );
        if (opts.json) printJson({ channel, purged: ids });
        else summary(`Purged ${ids.length} message(s) from ${channel} into its archive`);
      },
    );
  withExamples(purgeCmd, "abq purge reviews", 'abq purge reviews --yes --reason "stale after rebase"');
}

/** Asks on the terminal; without one (scripts, CI) there is nobody to ask, so the answer is no. */
async function confirm(question: string): Promise<boolean> {
  if (!isTerminal(0)) return false;
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
