import type { Command } from "commander";
import type { ThreadMessage } from "../../api/thread.ts";
import { paintState } from "../color.ts";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printNdjson, printText } from "../output.ts";

export function registerThread(program: Command): void {
  const thread = program
    .command("thread <id>")
    .description("show a conversation in send order, across channels and inboxes: its messages, states and answers")
    .option("--json", "one JSON object per message (NDJSON): {thread, channel, state, request, response}")
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { thread } = await import("../../index.ts");
      const found = await thread({ ...commonOptions(cmd), id });
      if (opts.json) {
        return printNdjson(found.messages.map((m) => ({ thread: found.id, ...m })));
      }
      const n = found.messages.length;
      printText([`Thread ${found.id}: ${n} message${n === 1 ? "" : "s"}`, ...lines(found.messages)].join("\n"));
    });
  withExamples(thread, 'abq thread "$id"', 'abq thread "$id" --json | jq -r .request.content');
}

/** One line per message (time, channel, state, from, type, content), its answer's first line under it. */
function lines(messages: ThreadMessage[]): string[] {
  const width = (pick: (m: ThreadMessage) => string): number => Math.max(0, ...messages.map((m) => pick(m).length));
  const from = (m: ThreadMessage): string => escapeControls(m.request.from.agent);
  const [channelW, stateW, fromW] = [width((m) => m.channel), width((m) => m.state), width(from)];
  return messages.flatMap((m) => {
    const r = m.request;
    const head = [
      time(r.timestamp),
      m.channel.padEnd(channelW),
      paintState(1, m.state) + " ".repeat(stateW - m.state.length),
      from(m).padEnd(fromW),
      r.type.padEnd(7),
      firstLine(r.content),
    ];
    const answer = m.response;
    if (answer === undefined) return [head.join("  ").trimEnd()];
    const text = answer.status === "error" && answer.error !== null ? answer.error : answer.result;
    const under = `    ${answer.status} from ${escapeControls(answer.from.agent)}: ${firstLine(text)}`;
    return [head.join("  ").trimEnd(), under.trimEnd()];
  });
}

/** `2026-11-21T05:36:49.944Z`: the send time in UTC, as far as it parses. */
function time(timestamp: string): string {
  const ms = Date.parse(timestamp);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : escapeControls(timestamp);
}

/** The first line of a text, control characters escaped, cut to 80 characters. */
function firstLine(text: string): string {
  const line = escapeControls(text.split(/\r?\n/, 1)[0] ?? "");
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
