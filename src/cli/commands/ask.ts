import { type Command, Option } from "commander";
import type { AskOptions } from "../../api/messages.ts";
import { AbqError } from "../../protocol/errors.ts";
import type { MessageType, Response } from "../../protocol/schema.ts";
import { commonOptions, oneLine, printJson, printText } from "../output.ts";
import { parseSeconds } from "./parse.ts";
import { resolveContent } from "../content.ts";
import { withAbortOnSignals } from "../signals.ts";

export interface AskFlags {
  ttl?: number;
  replyTo?: string;
  create?: boolean;
  timeout?: number;
  json?: boolean;
}

export function registerAsk(program: Command): void {
  program
    .command("ask <channel> <type> [content]")
    .description(
      "send a message and wait for its answer: prints the result; exit 8 if the answer is an error, 5 on timeout",
    )
    .addOption(new Option("-t, --timeout <seconds>", "how long to wait (default 30)").argParser(parseSeconds))
    .addOption(new Option("--ttl <seconds>", "seconds the message stays valid (default 300)").argParser(parseSeconds))
    .option("--reply-to <channel>", "channel that also receives the answer as a message")
    .option("--create", "create the channel if it does not exist")
    .option("--json", "print the whole response as stored")
    .action(async (channel: string, type: string, content: string | undefined, opts: AskFlags, cmd: Command) => {
      await askAndPrint(cmd, channel, type, content, opts);
    });
}

/** Shared by `ask` and `send --wait`: send, wait, print the answer, map its status to the exit code. */
export async function askAndPrint(
  cmd: Command,
  channel: string,
  type: string,
  content: string | undefined,
  opts: AskFlags,
): Promise<void> {
  const { ask } = await import("../../index.ts");
  const request: Omit<AskOptions, "signal"> = {
    ...commonOptions(cmd),
    channel,
    type: type as MessageType,
    content: await resolveContent(content),
    ttl: opts.ttl,
    replyTo: opts.replyTo,
    create: opts.create ?? false,
    timeout: opts.timeout,
    onPending: opts.json
      ? undefined
      : (note: Response) => process.stderr.write(`abq: pending: ${oneLine(note.result, 200)}\n`),
  };
  const { response } = await withAbortOnSignals((signal) => ask({ ...request, signal }));
  if (opts.json) printJson(response);
  else if (response.result !== "") printText(response.result);
  if (response.status === "error") {
    throw new AbqError("E_RESPONSE_ERROR", `answered with an error: ${response.error ?? "(no error text)"}`);
  }
}
