/**
 * `--help`, `--version`, usage errors and the man page of the CLI. Every command and subcommand's help
 * ends with examples, and every example is a command line the CLI accepts: each `abq …` in it is parsed
 * by the command's own definition (with the actions replaced, so nothing runs). The built CLI prints the
 * same help the program defines, and docs/abq.1 is what scripts/man.mjs makes of it today.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.ts";
import { makeBus, parseJson, ROOT, runCli } from "./helpers.ts";

/** Every command of the program, as the words that run it: ["send"], ["channel", "create"], … */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

function find(program: Command, path: string[]): Command {
  let cmd = program;
  for (const word of path) cmd = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word))!;
  return cmd;
}

/** The text a command's help ends with (its examples and notes), as commander prints it. */
function afterHelp(cmd: Command): string {
  let out = "";
  const events = cmd as unknown as NodeJS.EventEmitter; // commander's Command is one
  events.emit("afterHelp", { error: false, command: cmd, write: (s: string) => (out += s) });
  return out;
}

const PATHS = commandPaths(buildProgram());

/**
 * The `abq …` command lines in a shell line, each as its words: pipes, `;`, `&&`, `||` and redirections
 * end one, `$(…)` holds one of its own, quotes group words. Enough shell for the examples, no more.
 */
export function abqCommands(line: string): string[][] {
  const found: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let skipNext = false;
  const endWord = (): void => {
    if (word !== undefined) {
      if (skipNext) skipNext = false;
      else words.push(word);
    }
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    while (words.length > 0 && /^[A-Za-z_]\w*=/.test(words[0]!)) words.shift(); // VAR=value before it
    if (words[0] === "abq") found.push(words.slice(1));
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "$" && line[i + 1] === "(") {
      // $(…) runs a command of its own; the word it is part of stands for its output.
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === "(") depth++;
        else if (line[j] === ")" && --depth === 0) break;
      }
      found.push(...abqCommands(line.slice(i + 2, j)));
      word = `${word ?? ""}<output>`;
      i = j;
    } else if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      const inner = line.slice(i + 1, close);
      if (c === '"') for (const m of inner.matchAll(/\$\(([^)]*)\)/g)) found.push(...abqCommands(m[1]!));
      word = `${word ?? ""}${inner}`;
      i = close;
    } else if (c === " ") endWord();
    else if ("|;&".includes(c)) endCommand();
    else if (c === "<" || (c === ">" && word === undefined)) {
      endWord();
      if (line[i + 1] === ">") i++;
      skipNext = true; // the file name after a redirection is not an argument
    } else if (c === ">" && /^\d$/.test(word ?? "")) {
      // 2>&1, 2>file
      word = undefined;
      if (line[i + 1] === "&") i += 2;
      else skipNext = true;
    } else word = `${word ?? ""}${c}`;
  }
  endCommand();
  return found;
}

/** Parses `abq <words>` with every action replaced; returns the command that would have run. */
async function parseOnly(words: string[]): Promise<Command> {
  const program = buildProgram();
  let ran: Command | undefined;
  const stub = (cmd: Command): void => {
    cmd.action((...args: unknown[]) => void (ran = args.at(-1) as Command));
    for (const sub of cmd.commands) stub(sub);
  };
  for (const cmd of program.commands) stub(cmd);
  await program.parseAsync(["node", "abq", ...words]);
  if (ran === undefined) throw new Error(`abq ${words.join(" ")} ran no command`);
  return ran;
}

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

describe("help, version and usage", () => {
  it("--version prints the package version", async () => {
    const bus = makeBus();
    const pkg = parseJson<{ version: string }>(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
    expect(await bus.abq(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it("knows every command", () => {
    expect(PATHS.map((p) => p.join(" "))).toEqual(
      expect.arrayContaining(["send", "channel create", "check", "handlers", "completion", "agents", "unsubscribe"]),
    );
  });

  it.each(PATHS)("abq %s … --help ends with 1-3 examples, each one a command line abq accepts", async (...path) => {
    const cmd = find(buildProgram(), path);
    const after = afterHelp(cmd);
    const examples = after
      .slice(after.lastIndexOf("Examples:\n") + "Examples:\n".length)
      .trimEnd()
      .split("\n");
    expect(after, "an Examples: section").toMatch(/\nExamples:\n/);
    expect(examples.length).toBeGreaterThanOrEqual(1);
    expect(examples.length).toBeLessThanOrEqual(3);
    for (const ex of examples) expect(ex).toMatch(/^ {2}\$ \S/);
    expect(examples.some((ex) => ex.startsWith("  $ abq "))).toBe(true);
    const ran: string[] = [];
    for (const ex of examples) {
      for (const words of abqCommands(ex.slice(4))) {
        ran.push(
          pathOf(await parseOnly(words).catch((err: unknown) => Promise.reject(new Error(`${ex}: ${String(err)}`)))),
        );
      }
    }
    // At least one example runs this very command (or, for `channel`, one of its subcommands).
    const self = path.join(" ");
    expect(ran.some((r) => r === self || r.startsWith(`${self} `))).toBe(true);
  });

  it("the built CLI prints each command's help as defined, examples last", async () => {
    const program = buildProgram();
    const queue = [[], ...PATHS];
    const check = async (path: string[]): Promise<void> => {
      const r = await runCli([...path, "--help"]);
      expect(r.code, `abq ${path.join(" ")} --help`).toBe(0);
      expect(r.stdout).toMatch(/^Usage: abq/);
      // ls fills in its states when it runs (the built CLI), so its description line may differ.
      const cmd = path.length === 0 ? program : find(program, path);
      const expected = `${cmd.helpInformation()}${afterHelp(cmd)}`;
      if (path[0] === "ls") expect(r.stdout).toMatch(/list messages in one state: requests \(pending\)/);
      else expect(r.stdout).toBe(expected);
    };
    // Four at a time: the help of ~40 commands, each its own process.
    const workers = Array.from({ length: 4 }, async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) await check(path);
    });
    await Promise.all(workers);
  });

  it("abq help <not a command> prints the help to stderr, exit 2, and nothing else", async () => {
    for (const word of ["help", "nosuch"]) {
      const r = await runCli(["help", word]);
      expect(r.code, word).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^Usage: abq \[options\] \[command\]\n/);
      expect(r.stderr).not.toContain("outputHelp");
    }
  });

  it("abq --help lists the commands under headings, check under agents (--inbox) and admin", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    const headings = [...r.stdout.matchAll(/^(\w+):$/gm)].map((m) => m[1]);
    expect(headings).toEqual([
      "Options",
      "Messaging",
      "Workers",
      "Supervision",
      "Inspection",
      "Coordination",
      "Agents",
      "Sharing",
      "Admin",
      "Examples",
    ]);
    const section = (name: string): string => r.stdout.split(`\n${name}:\n`)[1]!.split("\n\n")[0]!;
    const words = (name: string): string[] =>
      section(name)
        .split("\n")
        .map((l) => l.trim().split(/[\s|]/)[0]!);
    expect(words("Messaging")).toEqual([
      "send",
      "ask",
      "recv",
      "respond",
      "ack",
      "release",
      "renew",
      "term",
      "cancel",
      "wait",
      "attachment",
    ]);
    expect(words("Supervision")).toEqual(["requeue", "sweep", "dead", "trace"]);
    expect(words("Inspection")).toEqual(["status", "ls", "show", "thread", "search", "ui", "schema"]);
    expect(words("Coordination")).toEqual(["kv", "lock", "reserve"]);
    expect(words("Sharing")).toEqual(["share", "unshare", "shares", "keys"]);
    expect(words("Agents")).toEqual(["heartbeat", "agents", "mcp", "keygen", "check"]);
    expect(section("Agents")).toMatch(/check --inbox <channel>/);
    expect(section("Admin")).toMatch(/check\|doctor \[options\]/);
  });

  it("doctor is check", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    const doctor = await bus.abq(["doctor", "--json"]);
    const check = await bus.abq(["check", "--json"]);
    expect(doctor.code, doctor.stderr).toBe(check.code);
    expect(parseJson(doctor.stdout)).toEqual(parseJson(check.stdout));
    expect((await bus.abq(["doctor", "--help"])).stdout).toMatch(/^Usage: abq check\|doctor/);
  });

  it.each([
    [[]],
    [["init"]],
    [["channel"]],
    [["channel", "create"]],
    [["channel", "list"]],
    [["channel", "info"]],
    [["channel", "rm"]],
    [["send"]],
    [["recv"]],
    [["respond"]],
    [["ack"]],
    [["release"]],
    [["term"]],
    [["status"]],
    [["ls"]],
    [["show"]],
    [["purge"]],
    [["schema"]],
  ])("abq %j --help exits 0 with usage", async (args) => {
    const bus = makeBus();
    const r = await bus.abq([...args, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: abq/);
  });

  it("no arguments, an unknown command or a missing argument is a one-line usage error, exit 2", async () => {
    const bus = makeBus();
    expect((await bus.abq([])).code).toBe(2);
    const unknown = await bus.abq(["sned"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^abq: unknown command 'sned'.*\n$/);
    const missing = await bus.abq(["send", "q"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("the example parser finds each abq command line in a shell line", () => {
    expect(abqCommands(`git diff | abq send q command - --ttl 1h`)).toEqual([
      ["send", "q", "command", "-", "--ttl", "1h"],
    ]);
    expect(abqCommands(`abq watch q --handler "$(abq handlers --path)/echo.sh"`)).toEqual([
      ["handlers", "--path"],
      ["watch", "q", "--handler", "$(abq handlers --path)/echo.sh"],
    ]);
    expect(abqCommands(`while msg=$(abq recv q --json); do echo "$msg"; done`)).toEqual([["recv", "q", "--json"]]);
    expect(abqCommands(`abq completion fish > ~/x.fish`)).toEqual([["completion", "fish"]]);
    expect(abqCommands(`make test 2>&1 | abq respond q "$id" --result -`)).toEqual([
      ["respond", "q", "$id", "--result", "-"],
    ]);
    expect(abqCommands(`ABQ_URL=nats://h:4222 abq bridge q`)).toEqual([["bridge", "q"]]);
  });
});

describe("the man page", () => {
  const page = join(ROOT, "docs", "abq.1");

  it("docs/abq.1 is what scripts/man.mjs makes of today's help (else: npm run man)", () => {
    const fresh = execFileSync(process.execPath, [join(ROOT, "scripts", "man.mjs"), "--stdout"], { encoding: "utf8" });
    expect(readFileSync(page, "utf8")).toBe(fresh);
  });

  it("names every command and its examples, in roff", () => {
    const text = readFileSync(page, "utf8");
    expect(text).toMatch(/^\.TH ABQ 1 /);
    for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "ENVIRONMENT", "EXIT STATUS"])
      expect(text).toContain(`.SH ${section}`);
    for (const path of PATHS) expect(text).toContain(`.SS "abq ${path.join(" ").replace(/-/g, "\\-")}`);
    expect(text).not.toMatch(/^[^.\n]*[^\x20-\x7e\n]/m); // plain ASCII: other characters are escaped
  });

  const renderer = ["man", "groff"].find((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
  it.runIf(renderer !== undefined || process.env["CI"] === "true")(
    `renders without warnings (${renderer ?? "no man or groff here"})`,
    () => {
      expect(renderer, "man or groff is installed (.ci/run installs groff)").toBeDefined();
      const r =
        renderer === "man"
          ? spawnSync("man", ["--warnings", "-l", page], {
              encoding: "utf8",
              env: { ...process.env, MANPAGER: "cat", MANWIDTH: "80" },
            })
          : spawnSync("groff", ["-man", "-Tutf8", "-ww", page], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/abq send/);
      expect(r.stdout).toMatch(/EXIT STATUS/);
    },
  );
});
