import type { Command } from "commander";
import type { ThreadMessage } from "../../api/thread.ts";
import { withExamples } from "../help.ts";
import { firstLine, messageRows } from "../message-rows.ts";
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
  const heads = messageRows(messages);
  return messages.flatMap((m, i) => {
    const answer = m.response;
    if (answer === undefined) return [heads[i]!];
    const text = answer.status === "error" && answer.error !== null ? answer.error : answer.result;
    return [heads[i]!, `    ${answer.status} from ${escapeControls(answer.from.agent)}: ${firstLine(text)}`.trimEnd()];
  });
}
