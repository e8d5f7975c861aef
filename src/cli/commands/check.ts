/**
 * `abq check`: quick yes/no checks for hooks and scripts. One command, several modes, picked by flags;
 * each mode is one branch of the action below and lives in its own library module.
 *
 *   abq check --inbox <channel> [--inject]   pending mail? exit 0 yes, 1 no; --inject: always 0 (errors
 *                                           only on stderr), print a <system-reminder> block for an agent
 *                                           hook (nothing when none)
 *   abq check --channel <name> --alive       a live consumer attached? exit 0 yes, 1 no (supervisor loops)
 *   abq check [--fix] (or abq doctor)        the doctor: permissions, staging leftovers, torn files, leases,
 *                                           registry drift, consumers, backlog age; exit 1 while problems remain
 */
import { type Command, Option } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { paintState } from "../color.ts";
import { checkInboxAction, NO_MAIL } from "../actions/check-inbox.ts";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";
import { parseCount } from "./parse.ts";

interface CheckFlags {
  inbox?: string;
  channel?: string;
  alive?: boolean;
  fix?: boolean;
  inject?: boolean;
  format?: string;
  event?: string;
  as?: string;
  limit?: number;
  json?: boolean;
}

export function registerCheck(program: Command): void {
  const check = program
    .command("check")
    .alias("doctor")
    .description(
      "the doctor: find (and --fix) problems on the bus; --inbox <channel>: exit 0 when mail is pending, 1 when none",
    )
    .option("--inbox <channel>", "check a channel (or @self) for pending mail without claiming it")
    .option("--inject", "with --inbox: always exit 0, print a <system-reminder> block listing the mail (or nothing)")
    .option(
      "--format <runtime>",
      "with --inbox: print what an agent runtime's hook expects (claude-code); always exit 0",
    )
    .option(
      "--event <name>",
      "with --format: the hook event (SessionStart, UserPromptSubmit, PostToolUse, Stop; default: from stdin)",
    )
    .option("--as <subscriber>", "with --inbox: check a topic subscriber's copies")
    .addOption(
      new Option("-n, --limit <n>", "with --inbox: list at most n messages (default 10)").argParser(parseCount),
    )
    .option("--channel <name>", "with --alive: the channel whose consumers to look for")
    .option("--alive", "exit 0 when a live consumer (a running abq watch, or a fresh heartbeat) serves --channel")
    .option("--fix", "doctor: repair what can be repaired safely")
    .option("--json", "print the result as JSON")
    .action(async (opts: CheckFlags, cmd: Command) => {
      if (opts.inbox !== undefined) return checkInboxAction(commonOptions(cmd), opts.inbox, opts);
      if (opts.alive || opts.channel !== undefined) return checkAliveMode(opts, cmd);
      return doctorMode(opts, cmd);
    });
  withExamples(
    check,
    "abq doctor --fix",
    "abq check --inbox @self --format claude-code --event UserPromptSubmit",
    "abq check --channel reviews --alive || abq watch reviews --handler ./review.sh",
  );
}

async function checkAliveMode(opts: CheckFlags, cmd: Command): Promise<void> {
  if (opts.channel === undefined || !opts.alive) {
    throw new AbqError("E_USAGE", "use --channel <name> and --alive together", {
      hint: "abq check --channel jobs --alive",
    });
  }
  const { consumers } = await import("../../index.ts");
  const live = await consumers({ ...commonOptions(cmd), channel: opts.channel });
  if (opts.json) printJson({ channel: opts.channel, alive: live.length > 0, consumers: live });
  else
    printText(
      live.length > 0 ? `${opts.channel}: ${live.length} live consumer(s)` : `${opts.channel}: no live consumer`,
    );
  if (live.length === 0) process.exitCode = NO_MAIL;
}

async function doctorMode(opts: CheckFlags, cmd: Command): Promise<void> {
  const { doctor } = await import("../../index.ts");
  const report = await doctor({ ...commonOptions(cmd), fix: opts.fix ?? false });
  if (opts.json) printJson(report);
  else {
    const lines = report.findings.map(
      (f) =>
        `${paintState(1, f.fixed === true ? "fixed" : f.level)}  ${f.check}${f.channel !== undefined ? ` [${f.channel}]` : ""}: ${f.message}`,
    );
    const errors = report.findings.filter((f) => f.level === "error" && f.fixed !== true).length;
    const warnings = report.findings.filter((f) => f.level === "warn" && f.fixed !== true).length;
    const fixed = report.findings.filter((f) => f.fixed === true).length;
    lines.push(
      `${report.channels} channel(s) checked: ${errors} error(s), ${warnings} warning(s)${fixed > 0 ? `, ${fixed} fixed` : ""}`,
    );
    printText(lines.join("\n"));
  }
  if (report.problems > 0) process.exitCode = NO_MAIL;
}
