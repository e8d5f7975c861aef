import { isTerminal } from "../terminal.ts";
import { type Command, Option } from "commander";
import type { AttachmentInput } from "../../attach/types.ts";
import { AbqError } from "../../protocol/errors.ts";
import { ALLOW_EMPTY_HELP, resolveContent } from "../content.ts";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText, writeOut } from "../output.ts";

export interface AttachFlags {
  attach?: string[];
  attachName?: string;
}

/** `--attach FILE` (repeatable; `-` reads stdin) and `--attach-name`, for send, ask and respond. */
export function addAttachOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("-a, --attach <file>", "send this file by reference (repeatable; '-' reads stdin)").argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .option("--attach-name <name>", "the name of the --attach - attachment (default: stdin)");
}

/** The attachments the flags name; stdin at most once, and then not also for the content. */
export function attachmentsFrom(flags: AttachFlags, contentFromStdin: boolean): AttachmentInput[] | undefined {
  const files = flags.attach ?? [];
  if (flags.attachName !== undefined && !files.includes("-"))
    throw new AbqError("E_USAGE", "--attach-name names the --attach - attachment; there is none");
  if (files.filter((f) => f === "-").length > 1) throw new AbqError("E_USAGE", "--attach - can be given once");
  if (files.includes("-") && contentFromStdin)
    throw new AbqError("E_USAGE", "stdin cannot be both the content and an attachment", {
      hint: "give the content as an argument, or attach a file instead of -",
    });
  if (files.length === 0) return undefined;
  return files.map((f) => (f === "-" ? { name: flags.attachName ?? "stdin", stream: process.stdin } : f));
}

/**
 * The content (or result) argument: as `resolveContent` reads it, except that stdin larger than the
 * message cap is streamed into a spilled attachment instead of refused (src/attach/stdin.ts).
 */
export async function contentOrStream(
  content: string | undefined,
  allowEmpty: boolean | undefined,
  stdinTaken = false,
): Promise<{ text: string; source?: AsyncIterable<Uint8Array> | undefined }> {
  const fromStdin = content === "-" || (content === undefined && !isTerminal(0) && !stdinTaken);
  if (!fromStdin) {
    if (content === undefined && stdinTaken) throw new AbqError("E_USAGE", "no content given");
    return { text: await resolveContent(content, allowEmpty) };
  }
  const { readTextOrStream, refuseEmpty } = await import("../../attach/stdin.ts");
  return refuseEmpty(await readTextOrStream(), allowEmpty);
}

export { ALLOW_EMPTY_HELP };

interface AttachmentFlags {
  output?: string;
  channel?: string;
  json?: boolean;
}

export function registerAttachment(program: Command): void {
  const cmd = program
    .command("attachment <id> [name]")
    .description("a message's attachments (and its answer's): their checked local paths, or copies with -o")
    .option("-o, --output <path>", "write a checked copy to this file ('-': stdout), or into this folder")
    .option("--channel <name>", "look only in this channel")
    .option("--json", "print [{name, sha256, size, media_type, path}] as JSON")
    .action(async (id: string, name: string | undefined, opts: AttachmentFlags, cmd: Command) => {
      const { attachments } = await import("../../index.ts");
      const toStdout = opts.output === "-";
      const found = await attachments({
        ...commonOptions(cmd),
        id,
        name,
        channel: opts.channel,
        output: toStdout ? undefined : opts.output,
      });
      if (found.length === 0) throw new AbqError("E_NO_MESSAGE", `${id} has no attachments`);
      if (toStdout) {
        if (found.length > 1) throw new AbqError("E_USAGE", `${id} has ${found.length} attachments: name one for -o -`);
        const { streamCopy } = await import("../../attach/read.ts");
        return streamCopy(found[0]!.path, process.stdout);
      }
      if (opts.json) return printJson(found);
      if (name !== undefined || opts.output !== undefined) return printText(found.map((a) => a.path).join("\n"));
      writeOut(1, found.map((a) => `${escapeControls(a.name)}\t${a.size}\t${a.path}\n`).join(""));
    });
  withExamples(
    cmd,
    'abq attachment "$id"',
    'abq attachment "$id" report.txt -o report.txt',
    'abq attachment "$id" content.txt -o - | less',
  );
}
