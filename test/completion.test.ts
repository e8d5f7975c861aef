/**
 * Shell completion: `abq completion bash` is loaded into a real bash, on a throwaway bus, with the built
 * CLI on PATH as `abq`; its completion function is called as bash calls it (COMP_WORDS, COMP_CWORD) and
 * must offer commands, options, channel names, message types and the ids of claimed messages. The zsh and
 * fish scripts are checked by their own shell when it is installed, and for the command list always.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.ts";
import { type Bus, CLI, makeBus, sendJson } from "./helpers.ts";

/** A bus with channels `reviews` and `news` (a topic with subscriber alice), and `abq` on PATH. */
async function setup(): Promise<{ bus: Bus; env: NodeJS.ProcessEnv }> {
  const bus = makeBus();
  const bin = join(bus.root, "bin");
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, "abq"));
  const env = { ...bus.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env["PATH"] ?? ""}` };
  expect((await bus.abq(["channel", "create", "reviews"])).code).toBe(0);
  expect((await bus.abq(["channel", "create", "news", "--topic"])).code).toBe(0);
  expect((await bus.abq(["subscribe", "news", "alice"])).code).toBe(0);
  return { bus, env };
}

/** What bash's completion of `abq <words>` offers (the last word is the one being completed). */
function bashComplete(env: NodeJS.ProcessEnv, words: string[]): string[] {
  const quoted = ["abq", ...words].map((w) => `'${w}'`).join(" ");
  const script = `source <(abq completion bash)
COMP_WORDS=(${quoted}); COMP_CWORD=${words.length}; COMP_LINE="abq ${words.join(" ")}"; COMP_POINT=\${#COMP_LINE}
_abq_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { env, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter((l) => l !== "");
}

const has = (shell: string): boolean => spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;
/** In CI (.ci/run installs both shells) a missing shell fails its test; elsewhere the test is left out. */
const runs = (shell: string): boolean => has(shell) || process.env["CI"] === "true";
const COMMANDS = buildProgram().commands.map((c) => c.name());

describe("bash completion, in a real bash", () => {
  it("registers itself for abq", async () => {
    const { env } = await setup();
    const r = spawnSync("bash", ["--norc", "-c", "source <(abq completion bash); complete -p abq"], {
      env,
      encoding: "utf8",
    });
    expect(r.stdout).toBe("complete -o default -F _abq_complete abq\n");
  });

  it("completes a channel name", async () => {
    const { env } = await setup();
    expect(bashComplete(env, ["send", ""])).toEqual(["news", "reviews"]);
    expect(bashComplete(env, ["send", "re"])).toEqual(["reviews"]);
    expect(bashComplete(env, ["recv", "--json", "n"])).toEqual(["news"]);
    expect(bashComplete(env, ["send", "reviews", "command", "x", "--reply-to", "rev"])).toEqual(["reviews"]);
    expect(bashComplete(env, ["channel", "info", "re"])).toEqual(["reviews"]);
    expect(bashComplete(env, ["channel", "create", "re"])).toEqual([]); // a new name: nothing to offer
  });

  it("reads the channels of the bus --home names", async () => {
    const { bus, env } = await setup();
    const other = join(bus.root, "other");
    expect((await bus.abq(["--home", other, "channel", "create", "elsewhere"])).code).toBe(0);
    expect(bashComplete(env, ["--home", other, "send", "e"])).toEqual(["elsewhere"]);
    expect(bashComplete(env, ["send", "e"])).toEqual([]);
  });

  it("completes commands, subcommands, options, types, states and subscribers", async () => {
    const { env } = await setup();
    expect(bashComplete(env, [""])).toEqual(expect.arrayContaining([...COMMANDS, "doctor", "help"]));
    expect(bashComplete(env, ["se"])).toEqual(["send", "search"]);
    expect(bashComplete(env, ["help", "sw"])).toEqual(["sweep"]);
    expect(bashComplete(env, ["channel", ""])).toEqual(["create", "config", "list", "ls", "info", "rm"]);
    expect(bashComplete(env, ["send", "reviews", "--re"])).toEqual(["--reply-to"]);
    expect(bashComplete(env, ["send", "reviews", "--h"])).toEqual(["--home", "--help"]);
    expect(bashComplete(env, ["send", "reviews", ""])).toEqual(["signal", "command", "eval", "status"]);
    expect(bashComplete(env, ["ls", "reviews", "pro"])).toEqual(["processing"]);
    expect(bashComplete(env, ["respond", "reviews", "req_1", "--status", ""])).toEqual(["success", "error", "pending"]);
    expect(bashComplete(env, ["recv", "news", "--as", ""])).toEqual(["alice"]);
    expect(bashComplete(env, ["completion", ""])).toEqual(["bash", "zsh", "fish"]);
  });

  it("completes the ids a command can act on: claimed ones for respond, pending ones for cancel", async () => {
    const { bus, env } = await setup();
    const claimed = await sendJson(bus, ["reviews", "command", "one"]);
    expect((await bus.abq(["recv", "reviews"])).code).toBe(0);
    const pending = await sendJson(bus, ["reviews", "command", "two"]);
    expect(bashComplete(env, ["respond", "reviews", ""])).toEqual([claimed.id]);
    expect(bashComplete(env, ["cancel", "reviews", "req_"])).toEqual([pending.id]);
    expect(bashComplete(env, ["show", ""]).sort()).toEqual([claimed.id, pending.id].sort());
  });

  it("a broken bus completes nothing, and says nothing", async () => {
    const { bus, env } = await setup();
    expect(bashComplete(env, ["--home", join(bus.root, "nope"), "send", ""])).toEqual([]);
  });
});

describe("zsh and fish completion", () => {
  it.each(["zsh", "fish"] as const)(
    "the %s script lists every command and asks abq __complete for the rest",
    async (shell) => {
      const { bus } = await setup();
      const r = await bus.abq(["completion", shell]);
      expect(r.code, r.stderr).toBe(0);
      for (const name of [...COMMANDS, "doctor"]) {
        expect(r.stdout, name).toMatch(shell === "zsh" ? new RegExp(`'${name}:`) : new RegExp(`-a '${name}' -d `));
      }
      expect(r.stdout).toContain("abq __complete");
    },
  );

  it.runIf(runs("zsh"))("zsh parses its script, and completes a channel at a real prompt", async () => {
    expect(has("zsh"), "zsh is installed (.ci/run installs it)").toBe(true);
    const { bus, env } = await setup();
    const file = join(bus.root, "_abq");
    spawnSync("sh", ["-c", `abq completion zsh > '${file}'`], { env });
    expect(spawnSync("zsh", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    // An interactive zsh on a pseudo-terminal (zsh/zpty): type `abq send re`, Tab, then turn the line
    // into an echo of itself to read what the completion made of it.
    const driver = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; bindkey -e; autoload -U compinit; compinit -u; source ${file}'
sleep 1
zpty -w -n z $'abq send re\t'
sleep 3
zpty -w -n z $'\x01echo COMPLETED: \n'
sleep 1
zpty -w z exit
out=""
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out" | grep -a '^COMPLETED'`;
    const r = spawnSync("zsh", ["-f", "-c", driver], { env, encoding: "utf8", timeout: 30_000 });
    expect(r.stdout.replace(/\r/g, "")).toBe("COMPLETED: abq send reviews\n");
  });

  it.runIf(runs("fish"))("fish parses its script and completes a channel", async () => {
    expect(has("fish"), "fish is installed (.ci/run installs it)").toBe(true);
    const { env } = await setup();
    const r = spawnSync("fish", ["--no-config", "-c", "abq completion fish | source; complete -C 'abq send re'"], {
      env,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^reviews/m);
  });

  it("an unknown shell is a usage error", async () => {
    const r = await makeBus().abq(["completion", "tcsh"]);
    expect(r).toMatchObject({ code: 2, stderr: "abq: unknown shell 'tcsh': use bash, zsh, fish\n" });
  });
});
