/**
 * The CLI entry: builds the commander program from one small module per command and maps every outcome
 * to an exit code (src/cli/exit.ts). Command modules import the library only inside their actions, so
 * `abq --help` and each command load just what they use.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { AbqError } from "../protocol/errors.ts";
import { EXIT, reportError } from "./exit.ts";
import { registerAsk } from "./commands/ask.ts";
import { registerCancel } from "./commands/cancel.ts";
import { registerChannel } from "./commands/channel.ts";
import { registerCheck } from "./commands/check.ts";
import { registerDead } from "./commands/dead.ts";
import { registerHeartbeat } from "./commands/heartbeat.ts";
import { registerInit } from "./commands/init.ts";
import { registerKeygen } from "./commands/keygen.ts";
import { registerLs } from "./commands/ls.ts";
import { registerMcp } from "./commands/mcp.ts";
import { registerPurge } from "./commands/purge.ts";
import { registerRecv } from "./commands/recv.ts";
import { registerRequeue } from "./commands/requeue.ts";
import { registerRespond } from "./commands/respond.ts";
import { registerSchema } from "./commands/schema.ts";
import { registerSend } from "./commands/send.ts";
import { registerShow } from "./commands/show.ts";
import { registerStatus } from "./commands/status.ts";
import { registerSubscribe } from "./commands/subscribe.ts";
import { registerSweep } from "./commands/sweep.ts";
import { registerTail } from "./commands/tail.ts";
import { registerTrace } from "./commands/trace.ts";
import { registerWait } from "./commands/wait.ts";
import { registerWatch } from "./commands/watch.ts";
import { registerBridge } from "../nats/bridge-command.ts";

export function buildProgram(): Command {
  const program = new Command("abq")
    .description("A zero-daemon message bus for AI agents, on plain files (protocol 1.0.0)")
    .version(readVersion(), "-V, --version", "print the abq version")
    .addOption(new Option("--home <dir>", "bus directory (default: $ABQ_HOME, else ~/.abq)"))
    .addOption(
      new Option("--url <nats-url>", "use a NATS JetStream bus (default: $ABQ_URL; see docs/multi-machine.md)"),
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined }); // we print usage errors ourselves, in one line
  for (const register of [
    registerInit,
    registerChannel,
    registerSend,
    registerRecv,
    registerRespond,
    registerAsk,
    registerWatch,
    registerBridge,
    registerCancel,
    registerSubscribe,
    registerTail,
    registerRequeue,
    registerSweep,
    registerDead,
    registerTrace,
    registerHeartbeat,
    registerKeygen,
    registerWait,
    registerCheck,
    registerMcp,
    registerStatus,
    registerLs,
    registerShow,
    registerPurge,
    registerSchema,
  ]) {
    register(program);
  }
  for (const cmd of allCommands(program)) cmd.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Runs the CLI and returns the exit code (the caller sets `process.exitCode`). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
      // One line: commander's "(Did you mean …?)" suggestion goes on the same line.
      const message = err.message.replace(/^error:\s*/, "").replace(/\s*\n\s*/g, " ");
      return reportError(new AbqError("E_USAGE", message, { hint: "see abq --help" }), json);
    }
    return reportError(err, json);
  }
}

function readVersion(): string {
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
