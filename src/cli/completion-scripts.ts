/**
 * The shell scripts `abq completion bash|zsh|fish` prints: each completes the command word from the list
 * it was generated with and asks `abq __complete <words…>` (complete.ts) for everything after it.
 */
import type { Command } from "commander";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** The script for `shell`, completing `program`'s commands itself and the rest through `abq __complete`. */
export function completionScript(shell: Shell, program: Command): string {
  const commands = program.commands
    .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
    .flatMap((c) => [c.name(), ...c.aliases()].map((name) => ({ name, about: firstSentence(c.description()) })));
  commands.push({ name: "help", about: "show help for a command" });
  if (shell === "bash") return bashScript(commands.map((c) => c.name));
  if (shell === "zsh") return zshScript(commands);
  return fishScript(commands);
}

interface Entry {
  name: string;
  about: string;
}

function firstSentence(text: string): string {
  const line = text.split(/[;:(]\s|\n/)[0] ?? "";
  return line.length > 70 ? `${line.slice(0, 69)}…` : line;
}

function bashScript(names: string[]): string {
  return `# abq completion for bash. Load it now:    source <(abq completion bash)
# or for every new shell:  abq completion bash > ~/.local/share/bash-completion/completions/abq
_abq_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
    COMPREPLY=($(compgen -W "${names.join(" ")}" -- "$cur"))
    return
  fi
  local IFS=$'\\n'
  COMPREPLY=($(abq __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _abq_complete abq
`;
}

/** In single quotes for zsh and fish: a quote inside is closed, escaped and reopened. */
function quoted(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "'\\''")}'`;
}

function zshScript(commands: Entry[]): string {
  const list = commands.map((c) => `    ${quoted(`${c.name}:${c.about}`)}`).join("\n");
  return `#compdef abq
# abq completion for zsh. Load it now:    source <(abq completion zsh)
# or for every new shell:  abq completion zsh > "\${fpath[1]}/_abq"   (a folder in $fpath; then compinit)
_abq() {
  local -a candidates
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
    candidates=(
${list}
    )
    _describe -t commands 'abq command' candidates
    return
  fi
  candidates=(\${(f)"$(abq __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"})
  if (( \${#candidates} )); then
    compadd -a candidates
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" == _abq ]]; then
  _abq "$@"
else
  compdef _abq abq
fi
`;
}

function fishScript(commands: Entry[]): string {
  const list = commands
    .map((c) => `complete -c abq -n __fish_use_subcommand -a ${quoted(c.name)} -d ${quoted(c.about)}`)
    .join("\n");
  return `# abq completion for fish. Load it now:    abq completion fish | source
# or for every new shell:  abq completion fish > ~/.config/fish/completions/abq.fish
function __abq_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l cur (commandline -ct)
    set -l found (abq __complete $words "$cur" 2>/dev/null)
    if test (count $found) -gt 0
        printf '%s\\n' $found
    else
        __fish_complete_path "$cur"
    end
end
complete -c abq -f
${list}
complete -c abq -n 'not __fish_use_subcommand' -a '(__abq_complete)'
`;
}
