/**
 * The CLI entry: builds the commander program from one small module per command and maps every outcome
 * to an exit code (src/cli/exit.ts). Command modules import the library (src/index.ts) only inside their
 * actions; in the bundle (scripts/bundle.mjs) that is one chunk, so `abq --help` loads commander and the
 * command modules alone, and a command that works loads the library once.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Help, Option } from "commander";
import { AbqError } from "../protocol/errors.ts";
import { EXIT, reportError } from "./exit.ts";
import { complete } from "./complete.ts";
import { withExamples } from "./help.ts";
import { writeOut } from "./output.ts";
import { GROUPS, type Register } from "./command-groups.ts";

const COMMANDS: Readonly<Record<string, Register>> = Object.fromEntries(
  GROUPS.flatMap(([, words]) => Object.entries(words)),
);
const HEADINGS: ReadonlyMap<string, string> = new Map(
  GROUPS.flatMap(([heading, words]) => Object.keys(words).map((w) => [w, heading] as const)),
);
/**
 * How commander writes: help through the CLI's own writer, so `abq send --help | head -1` ends quietly
 * (EPIPE) like every other output; usage errors are printed by us, in one line.
 */
const OUTPUT = {
  writeOut: (text: string): void => writeOut(1, text),
  writeErr: (text: string): void => writeOut(2, text),
  outputError: (): void => undefined,
};

/** Other names of commands: `abq doctor` is `abq check`. */
const ALIASES: Readonly<Record<string, string>> = { doctor: "check" };
/** Commands that need every other one defined: the completion script lists them all. */
const NEEDS_ALL = new Set(["completion"]);

/**
 * The commander program. Given the command being run, only that command is defined: building all of
 * them costs a few ms per call, and only `abq --help` (and suggestions for a mistyped name) needs them.
 */
export function buildProgram(only?: string): Command {
  const program = new Command("abq")
    .description("A zero-daemon message bus for AI agents, on plain files (protocol 1.0.0)")
    .version(readVersion(), "-V, --version", "print the abq version")
    .addOption(new Option("--home <dir>", "bus directory (default: $ABQ_HOME, else ~/.abq)"))
    .addOption(
      new Option("--url <nats-url>", "use a NATS JetStream bus (default: $ABQ_URL; see docs/multi-machine.md)"),
    )
    .option("--no-color", "no colour, even on a terminal (as with NO_COLOR=1; piped output never has any)")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(OUTPUT); // we print usage errors ourselves, in one line
  const word = only !== undefined && Object.hasOwn(ALIASES, only) ? ALIASES[only] : only;
  const one = word !== undefined && !NEEDS_ALL.has(word) && Object.hasOwn(COMMANDS, word) ? COMMANDS[word] : undefined;
  for (const register of one !== undefined ? [one] : new Set(Object.values(COMMANDS))) register(program);
  for (const cmd of allCommands(program)) cmd.exitOverride().configureOutput(OUTPUT);
  if (one === undefined) describeAll(program);
  return program;
}

/** The top-level help: commands under their headings, and examples. */
function describeAll(program: Command): void {
  for (const cmd of program.commands) cmd.helpGroup(HEADINGS.get(cmd.name()) ?? "Admin:");
  program.commandsGroup("Admin:").helpCommand(true);
  program.configureHelp({
    // `check --inbox` is for agents, the rest of `check` for admins: listed under both headings.
    visibleCommands(this: Help, cmd: Command): Command[] {
      const shown = Help.prototype.visibleCommands.call(this, cmd);
      const after = shown.findIndex((c) => c.name() === "keygen");
      if (cmd !== program || after === -1) return shown;
      const inbox = new Command("check --inbox <channel>")
        .description("exit 0 when the channel (or @self) has mail; --inject: a reminder for agent hooks")
        .helpGroup("Agents:");
      return [...shown.slice(0, after + 1), inbox, ...shown.slice(after + 1)];
    },
  });
  withExamples(
    program,
    "abq init",
    'abq send reviews command "review PR 42" --create',
    'abq watch reviews --handler "$(abq handlers --path)/echo.sh"',
  ).addHelpText(
    "after",
    "\nEvery command's --help ends with examples; the reference is docs/commands.md (man abq).\n" +
      "Colour only on a terminal, never with NO_COLOR set or --no-color.",
  );
}

/** The command word in `argv` (after node, the script and any global options), if any. */
function commandName(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--home" || arg === "--url") i++;
    else if (!arg.startsWith("-")) return arg;
    else if (!arg.startsWith("--home=") && !arg.startsWith("--url=") && arg !== "--no-color") return undefined;
  }
  return undefined;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI and returns the exit code (the caller sets `process.exitCode`). */
export async function main(argv: string[]): Promise<number> {
  // The shell completion scripts' helper (src/cli/complete.ts): not a command, never fails.
  if (argv[2] === "__complete") {
    const found = await complete(buildProgram(), argv.slice(3)).catch(() => []);
    if (found.length > 0) writeOut(1, `${found.join("\n")}\n`);
    return EXIT.OK;
  }
  const name = commandName(argv);
  // Lets the compile cache (bin/compile-cache.ts) keep code for real commands only, never for typos.
  if (name === undefined || Object.hasOwn(COMMANDS, name) || Object.hasOwn(ALIASES, name))
    (globalThis as Record<symbol, unknown>)[Symbol.for("abq.known-command")] = true;
  const program = buildProgram(name);
  const json = argv.includes("--json");
  try {
    if (argv.length <= 2) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK; // --help, --version
      // `abq help <not a command>`: commander printed the help to stderr as the error; nothing to add.
      if (err.code === "commander.help") return EXIT.USAGE;
      // One line: commander's "(Did you mean …?)" suggestion goes on the same line.
      const message = err.message.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ");
      return reportError(new AbqError("E_USAGE", message, { hint: "see abq --help" }), json);
    }
    return reportError(err, json);
  }
}

/** Set by the bundler (scripts/bundle.mjs); undefined when this module runs from tsc's output. */
declare const ABQ_BUNDLED_VERSION: string | undefined;

function readVersion(): string {
  if (typeof ABQ_BUNDLED_VERSION === "string") return ABQ_BUNDLED_VERSION;
  // dist/src/cli/main.js and src/cli/main.ts both sit under the package root; look upwards for it.
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "abq" && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next level
    }
  }
  return "0.0.0";
}
