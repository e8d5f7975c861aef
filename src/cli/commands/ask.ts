import { isTerminal } from "../terminal.ts";
import { type Command, Option } from "commander";
import type { AskOptions } from "../../api/messages.ts";
import { AbqError } from "../../protocol/errors.ts";
import type { MessageType, Request, Response } from "../../protocol/schema.ts";
import { commonOptions, escapeControls, oneLine, printJson, printText, writeOut } from "../output.ts";
import { parseSeconds, parseTimeout } from "./parse.ts";
import { ALLOW_EMPTY_HELP } from "../content.ts";
import { addAttachOptions, type AttachFlags, attachmentsFrom, contentOrStream } from "./attachment.ts";
import { withExamples } from "../help.ts";
import { suggestChoice } from "../suggest.ts";
import { MESSAGE_TYPES } from "../../protocol/constants.ts";
import { interruptible } from "../signals.ts";

export interface AskFlags extends AttachFlags {
  ttl?: number;
  replyTo?: string;
  create?: boolean;
  timeout?: number;
  allowEmpty?: boolean;
  json?: boolean;
}

export function registerAsk(program: Command): void {
  const ask = program
    .command("ask <channel> <type> [content]")
    .description(
      "send a message and wait for its answer: prints the result; exit 8 if the answer is an error, 5 on timeout",
    )
    .addOption(
      new Option("-t, --timeout <duration>", "how long to wait, e.g. 90s, 10m (default 30s; exit 5 after)").argParser(
        parseTimeout,
      ),
    )
    .addOption(
      new Option(
        "--ttl <duration>",
        "how long the message stays valid (e.g. 10m, 7d; 0 = never; default: the channel's ttl_s, 0 unless set)",
      ).argParser(parseSeconds),
    )
    .option("--reply-to <channel>", "channel that also receives the answer as a message")
    .option("--create", "create the channel if it does not exist")
    .option("--allow-empty", ALLOW_EMPTY_HELP)
    .option("--json", "print the whole response as stored");
  addAttachOptions(ask).action(
    async (channel: string, type: string, content: string | undefined, opts: AskFlags, cmd: Command) => {
      await askAndPrint(cmd, channel, type, content, opts);
    },
  );
  withExamples(
    ask,
    'abq ask reviews command "is main green?" --timeout 5m',
    "git diff | abq ask reviews command - --json | jq -r .result",
    'abq ask reviews command "review this" --attach change.diff',
  );
}

/** Shared by `ask` and `send --wait`: send, wait, print the answer, map its status to the exit code. */
export async function askAndPrint(
  cmd: Command,
  channel: string,
  type: string,
  content: string | undefined,
  opts: AskFlags,
): Promise<void> {
  suggestChoice("type", type, MESSAGE_TYPES);
  const attachments = attachmentsFrom(opts, content === "-");
  const body = await contentOrStream(content, opts.allowEmpty, opts.attach?.includes("-"));
  const { ask } = await import("../../index.ts");
  const request: Omit<AskOptions, "signal"> = {
    ...commonOptions(cmd),
    channel,
    type: type as MessageType,
    content: body.text,
    contentSource: body.source,
    attachments,
    ttl: opts.ttl,
    replyTo: opts.replyTo,
    create: opts.create ?? false,
    timeout: opts.timeout,
    onPending: opts.json ? undefined : (note: Response) => writeOut(2, `abq: pending: ${oneLine(note.result, 200)}\n`),
  };
  let sent: Request | undefined;
  const { response } = await interruptible((signal) =>
    ask({ ...request, signal, onSent: (m) => (sent = m) }).catch(async (err: unknown) => {
      throw sent !== undefined && !signal.aborted ? await explainTimeout(cmd, sent, err) : err;
    }),
  );
  if (opts.json) printJson(response);
  // The answer is data for `$(abq ask …)`, printed as sent; only a terminal gets it escaped.
  else if (response.result !== "") printText(isTerminal(1) ? escapeControls(response.result) : response.result);
  if (response.status === "error") {
    throw new AbqError("E_RESPONSE_ERROR", `answered with an error: ${response.error ?? "(no error text)"}`);
  }
}

/**
 * The library's timeout hint says to withdraw the request with `abq cancel`, which only works while nobody
 * has claimed it. A request a consumer is handling gets a hint that says so (cancel would exit 7).
 */
async function explainTimeout(cmd: Command, request: Request, err: unknown): Promise<unknown> {
  if (!(err instanceof AbqError) || err.code !== "E_TIMEOUT") return err;
  const { show } = await import("../../index.ts");
  const found = await show({ ...commonOptions(cmd), id: request.id, channel: request.to }).catch(() => undefined);
  if (found?.state !== "claimed") return err;
  const who =
    found.lease !== undefined
      ? `${escapeControls(found.lease.owner.agent)} (pid ${found.lease.owner.pid})`
      : "a consumer";
  return new AbqError("E_TIMEOUT", err.message, {
    hint: `it is being handled by ${who}; wait longer or see: abq show ${request.id}`,
    cause: err,
  });
}
