/**
 * What every command's `--help` ends with: a few real examples, each a command line that works as shown
 * (test/cli-help.test.ts parses every one of them against the command's own definition).
 */
import type { Command } from "commander";

/** Adds an `Examples:` section after the command's help: `$ abq …` lines, one per example. */
export function withExamples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`);
}
