/** `abq completion bash|zsh|fish`: the shell completion script (see src/cli/complete.ts). */
import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { completionScript, type Shell, SHELLS } from "../completion-scripts.ts";
import { withExamples } from "../help.ts";
import { writeOut } from "../output.ts";
import { suggestChoice } from "../suggest.ts";

export function registerCompletion(program: Command): void {
  const completion = program
    .command("completion <shell>")
    .description(`print the shell completion script for ${SHELLS.join(", ")}: commands, options, channels, ids`)
    .action((shell: string) => {
      suggestChoice("shell", shell, SHELLS);
      if (!(SHELLS as readonly string[]).includes(shell))
        throw new AbqError("E_USAGE", `unknown shell '${shell.slice(0, 40)}': use ${SHELLS.join(", ")}`);
      writeOut(1, completionScript(shell as Shell, program));
    });
  withExamples(
    completion,
    "abq completion bash > ~/.local/share/bash-completion/completions/abq",
    'abq completion zsh > "${fpath[1]}/_abq"',
    "abq completion fish > ~/.config/fish/completions/abq.fish",
  );
}
