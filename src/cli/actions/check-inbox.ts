/**
 * The work of `abq check --inbox`: the hook that runs on every prompt of every agent. Shared by the
 * command's commander action (src/cli/commands/check.ts) and the fast path (src/cli/fast.ts), so both
 * print the same thing. Nothing here loads commander.
 */
import type { CommonOptions } from "../../api/options.ts";
import type { InboxSummary } from "../../inbox/check.ts";
import { reportError } from "../exit.ts";
import { escapeControls, printJson, printText, writeOut } from "../output.ts";
import { isTerminal } from "../terminal.ts";

export interface InboxFlags {
  inject?: boolean | undefined;
  format?: string | undefined;
  event?: string | undefined;
  as?: string | undefined;
  limit?: number | undefined;
  json?: boolean | undefined;
}

/** Exit code of `check --inbox` when nothing is pending (like grep finding nothing). */
export const NO_MAIL = 1;

/** `known`: the summary already found without the core (src/inbox/no-mail.ts), used as the library's. */
export async function checkInboxAction(
  common: CommonOptions,
  channel: string,
  opts: InboxFlags,
  known?: InboxSummary,
): Promise<void> {
  const { reminderBlock, summaryLine } = await import("../../inbox/format.ts");
  const query = { ...common, channel, as: opts.as, limit: opts.limit };
  if (opts.format !== undefined) return hookMode(opts.format, query, opts);
  const checkInbox = async (q: typeof query): Promise<InboxSummary> =>
    known ?? (await import("../../index.ts")).checkInbox(q);
  if (opts.inject) {
    // A hook must never get in the agent's way (Claude Code blocks the prompt on exit 2): errors go to
    // stderr, and the exit code stays 0.
    try {
      const summary = await checkInbox(query);
      if (opts.json) printJson(summary);
      else writeOut(1, escapeControls(reminderBlock(summary)));
    } catch (err) {
      reportError(err, opts.json ?? false);
    }
    return;
  }
  const summary = await checkInbox(query);
  if (opts.json) printJson(summary);
  else printText(escapeControls(summaryLine(summary)));
  if (summary.pending === 0) process.exitCode = NO_MAIL;
}

/**
 * `--format claude-code`: exactly the JSON the runtime's hook event expects (nothing when there is no
 * mail), read against the hook's own stdin (Stop's stop_hook_active). Like --inject, a hook never fails:
 * errors go to stderr and the exit code stays 0.
 */
async function hookMode(
  format: string,
  query: { channel: string; as?: string | undefined; limit?: number | undefined },
  opts: InboxFlags,
): Promise<void> {
  const { inboxHook } = await import("../../index.ts");
  const { readStdin } = await import("../stdin.ts");
  try {
    const stdin = isTerminal(0) ? "" : await readStdin();
    const out = await inboxHook({ ...query, format, event: opts.event, stdin });
    if (out.stdout !== "") writeOut(1, out.stdout.endsWith("\n") ? out.stdout : `${out.stdout}\n`);
    process.exitCode = out.exitCode;
  } catch (err) {
    reportError(err, opts.json ?? false);
    process.exitCode = 0;
  }
}
