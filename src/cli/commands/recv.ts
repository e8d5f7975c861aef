import { type Command, Option } from "commander";
import type { Claimed, Skipped } from "../../lifecycle/transport.ts";
import { isAbqError } from "../../protocol/errors.ts";
import { EXIT } from "../exit.ts";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText, table, writeOut } from "../output.ts";
import { interruptible } from "../signals.ts";
import { skippedLine } from "../views.ts";
import { parseTimeout } from "./parse.ts";
import { attachmentLines } from "./show.ts";

interface RecvFlags {
  wait?: boolean;
  timeout?: number;
  as?: string;
  json?: boolean;
}

const SKIPPED_HELP = `
What the claim set aside on its way goes to stderr, never silently: messages whose TTL ran out (moved to
expired/) and files that were not valid messages (moved to rejected/). In text mode that is one line,
  abq: expired 2 message(s) (TTL ran out; see: abq ls <channel> expired)
with --json one JSON line (stdout keeps exactly the claimed message):
  {"skipped":{"channel":"q","expired":2,"rejected":0,"expired_ids":["req_…"],"rejected_files":[]}}
It is printed also when nothing could be claimed in the end (exit 4 or 5).

An empty queue is exit 4 with nothing on stderr (with --json, the JSON error), so a loop ends quietly:
  while msg=$(abq recv q); do …; done
A --wait that times out (exit 5) says so on stderr.`;

export function registerRecv(program: Command): void {
  const recv = program
    .command("recv <channel>")
    .description("claim the oldest pending message (exit 4 when there is none)")
    .option("-w, --wait", "wait for a message to arrive")
    .option("--as <subscriber>", "receive a topic subscriber's own copy")
    .addOption(
      new Option(
        "-t, --timeout <duration>",
        "how long --wait waits, e.g. 90s, 10m (default 30s; exit 5 after)",
      ).argParser(parseTimeout),
    )
    .option("--json", "print the claimed message as stored")
    .addHelpText("after", SKIPPED_HELP)
    .action(async (channel: string, opts: RecvFlags, cmd: Command) => {
      const { recv } = await import("../../index.ts");
      // A wait may set aside several batches before it claims one: report them together, once.
      const skipped: Skipped = { expired: [], rejected: [] };
      let queue = channel;
      try {
        const claim = await interruptible((signal) =>
          recv({
            ...commonOptions(cmd),
            // Held by its lease alone (until lease_s passes; `abq renew` extends it): an agent's shell tool
            // runs each command in a new shell that exits at once, and the claim must outlive it.
            ownerPid: 0,
            channel,
            as: opts.as,
            wait: opts.wait ?? false,
            timeout: opts.timeout,
            signal,
            onSkipped: (s) => {
              skipped.expired.push(...s.expired);
              skipped.rejected.push(...s.rejected);
            },
          }),
        );
        queue = claim.channel;
        if (opts.json) return printJson(claim.message);
        printText(claimText(claim, opts.as));
      } catch (err) {
        // `while msg=$(abq recv q); do …; done` ends at the empty queue: exit 4, and in text mode no error
        // line to scare anyone (scripts that want to tell "empty" from others read the exit code, or --json).
        if (opts.json || !isAbqError(err) || err.code !== "E_EMPTY") throw err;
        process.exitCode = EXIT.EMPTY;
      } finally {
        reportSkipped(queue, skipped, opts.json ?? false);
      }
    });
  withExamples(
    recv,
    "abq recv reviews",
    "abq recv reviews --wait --timeout 1m --json | jq -r .content",
    'while msg=$(abq recv reviews); do echo "$msg"; done',
  );
}

function reportSkipped(channel: string, skipped: Skipped, json: boolean): void {
  const { expired, rejected } = skipped;
  if (expired.length + rejected.length === 0) return;
  const report = {
    skipped: {
      channel,
      expired: expired.length,
      rejected: rejected.length,
      expired_ids: expired,
      rejected_files: rejected,
    },
  };
  writeOut(2, json ? `${JSON.stringify(report)}\n` : `abq: ${skippedLine(channel, expired.length, rejected.length)}\n`);
}

/** The claimed message, then the commands that finish it (each fenced by the lease). */
function claimText(claim: Claimed, as: string | undefined): string {
  const { message, lease } = claim;
  const ref = `${claim.channel} ${message.id}${as !== undefined ? ` --as ${as}` : ""}${lease ? ` --lease ${lease.token}` : ""}`;
  const next = table([
    [`abq respond ${ref} --result TEXT`, "answer it"],
    [`abq ack ${ref}`, "done, no answer"],
    [`abq release ${ref} [--delay 10m]`, "give it back"],
  ]).replace(/\n/g, "\n      ");
  return [
    `ID: ${message.id}`,
    `Type: ${message.type}`,
    `From: ${escapeControls(message.from.agent)}`,
    `File: ${claim.path}`,
    ...(lease ? [`Lease: ${lease.token} until ${lease.deadline}`] : []),
    `Next: ${next}`,
    ...attachmentLines(message.id, message),
    `Content: ${escapeControls(message.content)}`,
  ].join("\n");
}
