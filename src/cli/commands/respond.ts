import type { Command } from "commander";
import { RESPONSE_STATUSES } from "../../protocol/constants.ts";
import type { ResponseStatus } from "../../protocol/schema.ts";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";
import { suggestChoice } from "../suggest.ts";
import { addAttachOptions, type AttachFlags, attachmentsFrom, contentOrStream } from "./attachment.ts";

interface RespondFlags extends AttachFlags {
  status?: string;
  result?: string;
  error?: string;
  as?: string;
  lease?: string;
  json?: boolean;
}

export function registerRespond(program: Command): void {
  const respond = program
    .command("respond <channel> <id>")
    .description("answer a claimed message and archive it (exit 7 if it was already answered)")
    .option("-s, --status <status>", `one of ${RESPONSE_STATUSES.join(", ")} (default success)`)
    .option("-r, --result <text>", "the answer; '-' reads stdin")
    .option("-e, --error <text>", "error text (for --status error)")
    .option("--as <subscriber>", "answer a topic subscriber's copy")
    .option(
      "--lease <token>",
      "the lease token `abq recv` printed: refuse (exit 7) if the claim was taken over meanwhile",
    )
    .option("--json", "print the response as stored");
  addAttachOptions(respond).action(async (channel: string, id: string, opts: RespondFlags, cmd: Command) => {
    if (opts.status !== undefined) suggestChoice("status", opts.status, RESPONSE_STATUSES);
    const attachments = attachmentsFrom(opts, opts.result === "-");
    const result = opts.result === "-" ? await contentOrStream("-", true) : { text: opts.result };
    const { respond } = await import("../../index.ts");
    const response = await respond({
      ...commonOptions(cmd),
      channel,
      id,
      as: opts.as,
      lease: opts.lease,
      status: opts.status as ResponseStatus | undefined,
      result: result.text,
      resultSource: "source" in result ? result.source : undefined,
      error: opts.error,
      attachments,
    });
    if (opts.json) printJson(response);
    else printText(`Responded: ${response.id} (${response.status})`);
  });
  withExamples(
    respond,
    'abq respond reviews "$id" --result "looks good" --lease "$lease"',
    'abq respond reviews "$id" --status error --error "tests fail"',
    'make test 2>&1 | abq respond reviews "$id" --result - --attach report.html',
  );
}
