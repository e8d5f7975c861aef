/**
 * Text forms of an inbox summary: one line for scripts and people, and a `<system-reminder>` block that
 * an agent hook injects into the model's context (`abq check --inject`). The same lines, without the
 * block's tags, are what the Claude Code hook format carries (src/inbox/hooks.ts).
 */
import type { InboxSummary, PendingMessage } from "./check.ts";

function queueName(s: InboxSummary): string {
  return s.subscriber !== undefined ? `${s.channel} (as ${s.subscriber})` : s.channel;
}

function recvCommand(s: InboxSummary): string {
  return `abq recv ${s.channel}${s.subscriber !== undefined ? ` --as ${s.subscriber}` : ""}`;
}

/**
 * `<id> <type> from <sender>: <first line>`; a reply also names the request it answers, and its first
 * line is the answer's (`success: LGTM`), not the start of the JSON it is carried in.
 */
function describe(m: PendingMessage): string {
  if (m.problem !== undefined) return `${m.id} (unreadable: ${m.problem})`;
  const text = m.first_line !== undefined && m.first_line !== "" ? `: ${m.first_line}` : "";
  const reply = m.in_reply_to !== undefined ? ` (reply to ${m.in_reply_to})` : "";
  return `${m.id} ${m.type ?? "?"} from ${m.from ?? "?"}${reply}${text}`;
}

/** `2 pending in reviews; oldest: req_… command from github.com/acme/app/main: review PR 42` */
export function summaryLine(s: InboxSummary): string {
  if (s.pending === 0) return `no pending messages in ${queueName(s)}`;
  const first = s.messages[0];
  return `${s.pending} pending in ${queueName(s)}${first !== undefined ? `; oldest: ${describe(first)}` : ""}`;
}

/**
 * The reminder's lines: what is pending and how to claim it, then one line per listed message. Empty
 * when nothing is pending. Text from messages is other agents' data, so angle brackets are escaped: a
 * message cannot close the block it is shown in.
 */
export function reminderLines(s: InboxSummary): string[] {
  if (s.pending === 0) return [];
  const noun = s.pending === 1 ? "message" : "messages";
  const lines = [
    `abq: ${s.pending} ${noun} pending in ${queueName(s)}. Claim one with: ${recvCommand(s)} (or the abq_recv tool).`,
    ...s.messages.map((m) => `- ${escapeTags(describe(m))}`),
  ];
  const more = s.pending - s.messages.length;
  if (more > 0) lines.push(`- … and ${more} more`);
  return lines;
}

/** The block a hook prints so the agent notices its mail; empty string when nothing is pending. */
export function reminderBlock(s: InboxSummary): string {
  if (s.pending === 0) return "";
  return `${["<system-reminder>", ...reminderLines(s), "</system-reminder>"].join("\n")}\n`;
}

function escapeTags(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
