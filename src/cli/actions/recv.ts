/**
 * The work of `abq recv`: shared by its commander command (src/cli/commands/recv.ts) and the fast path
 * (src/cli/fast.ts), so both claim, print and exit alike. Nothing here loads commander.
 */
import type { CommonOptions } from "../../api/options.ts";
import type { Claimed, Skipped } from "../../lifecycle/transport.ts";
import { isAbqError } from "../../protocol/errors.ts";
import { EXIT } from "../exit.ts";
import { escapeControls, printJson, printText, table, writeOut } from "../output.ts";
import { interruptible } from "../signals.ts";
import { attachmentLines, skippedLine } from "../views.ts";

export interface RecvFlags {
  wait?: boolean | undefined;
  timeout?: number | undefined;
  as?: string | undefined;
  json?: boolean | undefined;
}

export async function recvAction(common: CommonOptions, channel: string, opts: RecvFlags): Promise<void> {
  const { recv } = await import("../../index.ts");
  // A wait may set aside several batches before it claims one: report them together, once.
  const skipped: Skipped = { expired: [], rejected: [] };
  let queue = channel;
  try {
    const claim = await interruptible((signal) =>
      recv({
        ...common,
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
