import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, oneLine, printJson, printText, readerLeft } from "../output.ts";
import { withAbortOnSignals } from "../signals.ts";

export function registerTail(program: Command): void {
  const tail = program
    .command("tail <channel>")
    .description("print messages (→) and answers (←) as they arrive, until interrupted")
    .option("--as <subscriber>", "follow a topic subscriber's copies")
    .option("--json", "NDJSON: {kind: message|response, ...}")
    .action(async (channel: string, opts: { as?: string; json?: boolean }, cmd: Command) => {
      const { tail } = await import("../../index.ts");
      await withAbortOnSignals(async (signal) => {
        for await (const event of tail({ ...commonOptions(cmd), channel, as: opts.as, signal })) {
          if (opts.json) printJson(event);
          else if (event.kind === "message") {
            const m = event.message;
            printText(`→ ${m.id} ${m.type} ${oneLine(m.from.agent, 100)} ${oneLine(m.content, 100)}`);
          } else {
            const r = event.response;
            const text = r.status === "error" ? (r.error ?? r.result) : r.result;
            printText(`← ${r.id} ${r.status} ${oneLine(r.from.agent, 100)} ${oneLine(text, 100)}`);
          }
          // `abq tail c | head -1`: once the reader is gone, stop (quietly, exit 0) instead of following on.
          if (readerLeft(1)) break;
        }
      });
    });
  withExamples(tail, "abq tail reviews", "abq tail news --as alice --json | jq -c .");
}
