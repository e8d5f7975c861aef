import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText } from "../output.ts";
import { paintState } from "../color.ts";
import { attachmentLines, leaseLine, reasonLines } from "../views.ts";

export function registerShow(program: Command): void {
  const show = program
    .command("show <id>")
    .description("find a message in any channel and state: its state and why, its lease, its answer, its files")
    .option("--channel <name>", "look only in this channel")
    .option("--json", "print {channel, state, reason, lease, request, response, files} as JSON")
    .action(async (id: string, opts: { channel?: string; json?: boolean }, cmd: Command) => {
      const { show } = await import("../../index.ts");
      // Content or an answer spilled into an attachment comes back whole (show reads it back).
      const found = await show({ ...commonOptions(cmd), id, channel: opts.channel });
      if (opts.json) return printJson(found);
      const lines = [
        `ID: ${id}`,
        `Channel: ${found.channel}${found.subscriber !== undefined ? ` (as ${found.subscriber})` : ""}`,
        `State: ${paintState(1, found.state)}`,
      ];
      // Why it is here (a dead letter's last error, an expired message's TTL, who withdrew or acked it),
      // and who holds it: the two things to know before acting on it.
      lines.push(...reasonLines(found.reason));
      if (found.lease) lines.push(leaseLine(found.lease));
      const req = found.request;
      if (req) {
        lines.push(
          `Type: ${req.type}`,
          `From: ${escapeControls(req.from.agent)}`,
          `Sent: ${req.timestamp}`,
          `Content: ${escapeControls(req.content)}`,
        );
      }
      const res = found.response;
      if (res) {
        lines.push(
          `Response: ${res.status} from ${escapeControls(res.from.agent)} at ${res.timestamp}`,
          `Result: ${escapeControls(res.result)}`,
        );
        if (res.error !== null) lines.push(`Error: ${escapeControls(res.error)}`);
      }
      lines.push(...attachmentLines(id, req, res));
      lines.push(...found.files.map((f) => `File: ${f}`));
      printText(lines.join("\n"));
    });
  withExamples(show, 'abq show "$id"', 'abq show "$id" --channel reviews --json | jq -r .state');
}
