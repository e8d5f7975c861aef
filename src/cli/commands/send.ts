import { type Command, Option } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { MESSAGE_TYPES } from "../../protocol/schema.ts";
import { commonOptions, printJson, printText, readStdin } from "../output.ts";
import { parseSeconds } from "./parse.ts";

interface SendFlags {
  ttl?: number;
  replyTo?: string;
  create?: boolean;
  wait?: boolean;
  timeout?: number;
  sign?: boolean;
  json?: boolean;
}

export function registerSend(program: Command): void {
  program
    .command("send <channel> <type> [content]")
    .description(
      `send a message; <type> is one of ${MESSAGE_TYPES.join(", ")}; content '-' (or none, when piped) reads stdin`,
    )
    .addOption(new Option("--ttl <seconds>", "seconds the message stays valid (default 300)").argParser(parseSeconds))
    .option("--reply-to <channel>", "channel that also receives the answer as a message")
    .option("--create", "create the channel if it does not exist")
    .option("--sign", "sign with this bus's key (abq keygen)")
    .option("-w, --wait", "wait for the answer and print it, like `abq ask` (exit 8 on an error answer)")
    .addOption(
      new Option("-t, --timeout <seconds>", "how long --wait waits (default 30; exit 5 after)").argParser(parseSeconds),
    )
    .option("--json", "print the message as stored (so `jq .id` works); with --wait, the response")
    .action(async (channel: string, type: string, content: string | undefined, opts: SendFlags, cmd: Command) => {
      if (opts.wait) {
        const { askAndPrint } = await import("./ask.ts");
        return askAndPrint(cmd, channel, type, content, opts);
      }
      const { send } = await import("../../api/messages.ts");
      const message = await send({
        ...commonOptions(cmd),
        channel,
        type: type as (typeof MESSAGE_TYPES)[number],
        content: await resolveContent(content),
        ttl: opts.ttl,
        replyTo: opts.replyTo,
        create: opts.create ?? false,
        sign: opts.sign ?? false,
      });
      if (opts.json) printJson(message);
      else printText(`Sent: ${message.id} -> ${message.to}`);
    });
}

/** The content argument, or stdin for `-` (and for no argument when stdin is a pipe or file). */
export async function resolveContent(content: string | undefined): Promise<string> {
  if (content !== undefined && content !== "-") return content;
  if (content === undefined && process.stdin.isTTY) {
    throw new AbqError("E_USAGE", "no content given", { hint: "pass it as an argument, or pipe it in with '-'" });
  }
  return readStdin();
}
