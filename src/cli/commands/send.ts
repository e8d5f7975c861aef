import { type Command, Option } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { MESSAGE_TYPES } from "../../protocol/constants.ts";
import { ALLOW_EMPTY_HELP } from "../content.ts";
import { addAttachOptions, type AttachFlags, attachmentsFrom, contentOrStream } from "./attachment.ts";
import { withExamples } from "../help.ts";
import { withProgress } from "../progress.ts";
import { stdinLines } from "../stdin.ts";
import { commonOptions, writeOut } from "../output.ts";
import { sendOne } from "../actions/send-one.ts";
import { suggestChoice } from "../suggest.ts";
import { parseSeconds, parseTimeout } from "./parse.ts";

interface SendFlags extends AttachFlags {
  ttl?: number;
  replyTo?: string;
  create?: boolean;
  wait?: boolean;
  timeout?: number;
  sign?: boolean;
  thread?: string;
  batch?: boolean;
  allowEmpty?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function registerSend(program: Command): void {
  const send = program
    .command("send <channel> [type] [content]")
    .description(
      `send a message; <type> is one of ${MESSAGE_TYPES.join(", ")}; content '-' (or none, when piped) reads stdin`,
    )
    .addOption(
      new Option(
        "--ttl <duration>",
        "how long the message stays valid (e.g. 10m, 7d; 0 = never; default: the channel's ttl_s, 0 unless set)",
      ).argParser(parseSeconds),
    )
    .option("--reply-to <channel>", "channel that also receives the answer as a message")
    .option("--create", "create the channel if it does not exist")
    .option("--sign", "sign with this bus's key (abq keygen)")
    .option("--thread <id>", "join the conversation of this message id (abq thread shows it); default: start one")
    .option("--allow-empty", ALLOW_EMPTY_HELP)
    .option("--batch", 'many messages from stdin, one JSON per line: {"type","content",["ttl","reply_to","channel"]}')
    .option("-q, --quiet", "with --batch: no progress line or timing on a terminal")
    .option("-w, --wait", "wait for the answer and print it, like `abq ask` (exit 8 on an error answer)")
    .addOption(
      new Option(
        "-t, --timeout <duration>",
        "how long --wait waits, e.g. 90s, 10m (default 30s, as for abq ask; exit 5 after)",
      ).argParser(parseTimeout),
    )
    .option("--json", "print the message as stored (so `jq .id` works); with --wait, the response");
  addAttachOptions(send).action(
    async (channel: string, type: string | undefined, content: string | undefined, opts: SendFlags, cmd: Command) => {
      if (opts.batch) {
        if (opts.attach !== undefined) throw new AbqError("E_USAGE", "--attach does not combine with --batch");
        return sendBatchFromStdin(cmd, channel, type, opts);
      }
      if (type === undefined)
        throw new AbqError("E_USAGE", "missing required argument 'type'", { hint: "see abq send --help" });
      suggestChoice("type", type, MESSAGE_TYPES);
      if (opts.wait) {
        if (opts.thread !== undefined) throw new AbqError("E_USAGE", "--thread does not combine with --wait (yet)");
        const { askAndPrint } = await import("./ask.ts");
        return askAndPrint(cmd, channel, type, content, opts);
      }
      const attachments = attachmentsFrom(opts, content === "-");
      const body = await contentOrStream(content, opts.allowEmpty, opts.attach?.includes("-"));
      await sendOne(commonOptions(cmd), {
        channel,
        type: type as (typeof MESSAGE_TYPES)[number],
        content: body.text,
        contentSource: body.source,
        attachments,
        ttl: opts.ttl,
        replyTo: opts.replyTo,
        create: opts.create ?? false,
        sign: opts.sign ?? false,
        thread: opts.thread,
        json: opts.json ?? false,
      });
    },
  );
  withExamples(
    send,
    'abq send reviews command "review PR 42" --create',
    "git diff | abq send reviews command - --ttl 1h --attach build.log",
    'echo \'{"type":"signal","content":"hi"}\' | abq send reviews --batch',
  );
}

async function sendBatchFromStdin(
  cmd: Command,
  channel: string,
  type: string | undefined,
  opts: SendFlags,
): Promise<void> {
  if (type !== undefined) throw new AbqError("E_USAGE", "--batch takes types from its input lines, not an argument");
  const { sendBatch } = await import("../../index.ts");
  const out: string[] = [];
  // writeOut, not process.stdout: a reader that left (`| head -1`) ends the output quietly, no EPIPE trace.
  const flush = (): void => void (out.length > 0 && writeOut(1, out.splice(0).join("")));
  let count = 0;
  try {
    const { result, summary } = await withProgress(`sending to ${channel}`, opts, (progress) =>
      sendBatch({
        ...commonOptions(cmd),
        channel,
        lines: stdinLines(),
        create: opts.create ?? false,
        sign: opts.sign ?? false,
        onSent: (m) => {
          if (progress.shown) progress.update(`${++count} sent`);
          if (!opts.json) return;
          out.push(`${JSON.stringify(m)}\n`);
          if (out.length >= 256) flush(); // batch writes: one syscall per 256 messages, not per message
        },
      }),
    );
    flush();
    if (!opts.json) summary(`Sent ${result.sent} message(s) to ${channel}`);
  } finally {
    flush();
  }
}
