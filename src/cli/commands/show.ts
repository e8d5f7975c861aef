import type { Command } from "commander";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerShow(program: Command): void {
  program
    .command("show <id>")
    .description("find a message in any channel and state, with its answer")
    .option("--channel <name>", "look only in this channel")
    .option("--json", "print {channel, state, request, response, files} as JSON")
    .action(async (id: string, opts: { channel?: string; json?: boolean }, cmd: Command) => {
      const { show } = await import("../../index.ts");
      const found = await show({ ...commonOptions(cmd), id, channel: opts.channel });
      if (opts.json) return printJson(found);
      const lines = [`ID: ${id}`, `Channel: ${found.channel}`, `State: ${found.state}`];
      const req = found.request;
      if (req)
        lines.push(`Type: ${req.type}`, `From: ${req.from.agent}`, `Sent: ${req.timestamp}`, `Content: ${req.content}`);
      const res = found.response;
      if (res) {
        lines.push(`Response: ${res.status} from ${res.from.agent} at ${res.timestamp}`, `Result: ${res.result}`);
        if (res.error !== null) lines.push(`Error: ${res.error}`);
      }
      lines.push(...found.files.map((f) => `File: ${f}`));
      printText(lines.join("\n"));
    });
}
