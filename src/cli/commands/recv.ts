import { type Command, Option } from "commander";
import { commonOptions, printJson, printText } from "../output.ts";
import { parseSeconds } from "./parse.ts";

export function registerRecv(program: Command): void {
  program
    .command("recv <channel>")
    .description("claim the oldest pending message (exit 4 when there is none)")
    .option("-w, --wait", "wait for a message to arrive")
    .option("--as <subscriber>", "receive a topic subscriber's own copy")
    .addOption(
      new Option("-t, --timeout <seconds>", "how long --wait waits (default 30; exit 5 after)").argParser(parseSeconds),
    )
    .option("--json", "print the claimed message as stored")
    .action(
      async (
        channel: string,
        opts: { wait?: boolean; timeout?: number; as?: string; json?: boolean },
        cmd: Command,
      ) => {
        const { recv } = await import("../../index.ts");
        const controller = new AbortController();
        const stop = (): void => controller.abort();
        process.once("SIGINT", stop);
        try {
          const { message, path, lease } = await recv({
            ...commonOptions(cmd),
            // The claim belongs to whoever ran `abq recv` (its shell or agent), not to this short-lived process.
            ownerPid: process.ppid,
            channel,
            as: opts.as,
            wait: opts.wait ?? false,
            timeout: opts.timeout,
            signal: controller.signal,
          });
          if (opts.json) return printJson(message);
          printText(
            [
              `ID: ${message.id}`,
              `Type: ${message.type}`,
              `From: ${message.from.agent}`,
              `File: ${path}`,
              ...(lease
                ? [`Lease: ${lease.token} until ${lease.deadline} (abq respond … --lease ${lease.token})`]
                : []),
              `Content: ${message.content}`,
            ].join("\n"),
          );
        } finally {
          process.off("SIGINT", stop);
        }
      },
    );
}
