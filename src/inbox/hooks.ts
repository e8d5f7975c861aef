/**
 * The inbox check as an agent's hook prints it. Claude Code runs a hook command with the event's JSON
 * on stdin and, on exit 0, reads stdout as JSON:
 *
 * - SessionStart, UserPromptSubmit, PostToolUse: `{"hookSpecificOutput":{"hookEventName":E,
 *   "additionalContext":T}}` adds T to the model's context;
 * - Stop: `{"decision":"block","reason":T}` keeps the agent working, with T as what to do next. The Stop
 *   input has `stop_hook_active: true` when the agent is already continuing because of a Stop hook; then
 *   nothing is printed, so mail nobody claims can never keep an agent from stopping.
 *
 * No mail: no output at all. Always exit 0: exit 2 would block the prompt (or the stop) with stderr as
 * the reason, and any other code is shown to the user as a failing hook on every turn.
 */
import { AbqError } from "../protocol/errors.ts";
import { checkInbox, type CheckInboxOptions, type InboxSummary } from "./check.ts";
import { reminderLines } from "./format.ts";

export const HOOK_FORMATS = ["claude-code"] as const;
export type HookFormat = (typeof HOOK_FORMATS)[number];
export const HOOK_EVENTS = ["SessionStart", "UserPromptSubmit", "PostToolUse", "Stop"] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface HookOptions {
  format: HookFormat;
  event: HookEvent;
  /** From the Stop event's input: the agent already continues because of a Stop hook. */
  stopHookActive?: boolean | undefined;
}

/** What the hook command prints, and its exit code. */
export interface HookOutput {
  stdout: string;
  exitCode: 0;
}

/** Renders an inbox summary as `opts.event` expects it (see above). */
export function formatHook(check: InboxSummary, opts: HookOptions): HookOutput {
  const format = hookFormat(opts.format);
  const event = hookEvent(opts.event);
  const lines = reminderLines(check);
  if (format !== "claude-code" || lines.length === 0) return { stdout: "", exitCode: 0 };
  const text = lines.join("\n");
  if (event === "Stop") {
    if (opts.stopHookActive === true) return { stdout: "", exitCode: 0 };
    return { stdout: `${JSON.stringify({ decision: "block", reason: text })}\n`, exitCode: 0 };
  }
  const output = { hookSpecificOutput: { hookEventName: event, additionalContext: text } };
  return { stdout: `${JSON.stringify(output)}\n`, exitCode: 0 };
}

/** The fields of a hook's stdin JSON that abq reads (Claude Code sends more; they are ignored). */
export interface HookInput {
  sessionId?: string | undefined;
  transcriptPath?: string | undefined;
  cwd?: string | undefined;
  /** `hook_event_name`, when it is one of HOOK_EVENTS. */
  event?: HookEvent | undefined;
  /** `stop_hook_active`; false when absent. */
  stopHookActive: boolean;
}

/**
 * Reads a hook's stdin. Anything that is not a JSON object (empty stdin, a terminal, garbage) reads as
 * no fields: a hook must answer whatever it is given, never fail on it.
 */
export function parseHookInput(text: string): HookInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { stopHookActive: false };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { stopHookActive: false };
  const o = raw as Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof o[key] === "string" ? o[key] : undefined);
  const name = str("hook_event_name");
  return {
    sessionId: str("session_id"),
    transcriptPath: str("transcript_path"),
    cwd: str("cwd"),
    event: HOOK_EVENTS.find((e) => e === name),
    stopHookActive: o["stop_hook_active"] === true,
  };
}

export interface InboxHookOptions extends CheckInboxOptions {
  /** A HookFormat; any string is taken (from a command line) and checked. */
  format: string;
  /** A HookEvent, checked likewise. Default: the input's `hook_event_name`. */
  event?: string | undefined;
  /** The hook's stdin as text (may be empty). */
  stdin?: string | undefined;
}

/**
 * `abq check --inbox <channel> --format claude-code --event <E>`: reads the hook's stdin, checks the
 * inbox, and returns what to print. Errors throw as from `checkInbox`; a hook caller reports them on
 * stderr and still exits 0.
 */
export async function inboxHook(opts: InboxHookOptions): Promise<HookOutput> {
  const input = parseHookInput(opts.stdin ?? "");
  const format = hookFormat(opts.format);
  const event = hookEvent(opts.event ?? input.event);
  const summary = await checkInbox(opts);
  return formatHook(summary, { format, event, stopHookActive: input.stopHookActive });
}

function hookFormat(format: string): HookFormat {
  const found = HOOK_FORMATS.find((f) => f === format);
  if (found !== undefined) return found;
  throw new AbqError("E_USAGE", `unknown hook format '${format}': use ${HOOK_FORMATS.join(", ")}`);
}

function hookEvent(event: string | undefined): HookEvent {
  const found = HOOK_EVENTS.find((e) => e === event);
  if (found !== undefined) return found;
  const choices = HOOK_EVENTS.join(", ");
  if (event === undefined) throw new AbqError("E_USAGE", `give the hook event (--event): one of ${choices}`);
  throw new AbqError("E_USAGE", `unknown hook event '${event}': use one of ${choices}`);
}
