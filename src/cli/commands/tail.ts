import type { Command } from "commander";
import { commonOptions, oneLine, printJson, printText } from "../output.ts";

export function registerTail(program: Command): void {
  program
    .command("tail <channel>")
    .description("print messages (→) and answers (←) as they arrive, until interrupted")
    .option("--as <subscriber>", "follow a topic subscriber's copies")
    .option("--json", "NDJSON: {kind: message|response, ...}")
    .action(async (channel: string, opts: { as?: string; json?: boolean }, cmd: Command) => {
      const { tail } = await import("../../index.ts");
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        for await (const event of tail({ ...commonOptions(cmd), channel, as: opts.as, signal: controller.signal })) {
          if (opts.json) printJson(event);
          else if (event.kind === "message") {
            const m = event.message;
            printText(`→ ${m.id} ${m.type} ${m.from.agent} ${oneLine(m.content, 100)}`);
          } else {
            const r = event.response;
            const text = r.status === "error" ? (r.error ?? r.result) : r.result;
            printText(`← ${r.id} ${r.status} ${r.from.agent} ${oneLine(text, 100)}`);
          }
        }
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}
