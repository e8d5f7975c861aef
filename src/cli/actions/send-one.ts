/**
 * The work of `abq send` for one message: the library call and what is printed. Shared by the command's
 * commander action (src/cli/commands/send.ts, after it read stdin and attachments) and the fast path
 * (src/cli/fast.ts), so both print the same thing. Nothing here loads commander.
 */
import type { AttachmentInput } from "../../attach/types.ts";
import type { CommonOptions } from "../../api/options.ts";
import type { MESSAGE_TYPES } from "../../protocol/constants.ts";
import type { Request } from "../../protocol/schema.ts";
import { printJson, printText } from "../output.ts";

export interface SendOne {
  channel: string;
  type: (typeof MESSAGE_TYPES)[number];
  content: string;
  contentSource?: AsyncIterable<Uint8Array> | undefined;
  attachments?: AttachmentInput[] | undefined;
  ttl?: number | undefined;
  replyTo?: string | undefined;
  create: boolean;
  sign: boolean;
  thread?: string | undefined;
  json: boolean;
}

export async function sendOne(common: CommonOptions, a: SendOne): Promise<void> {
  const { send } = await import("../../index.ts");
  const message = await send({
    ...common,
    channel: a.channel,
    type: a.type,
    content: a.content,
    contentSource: a.contentSource,
    attachments: a.attachments,
    ttl: a.ttl,
    replyTo: a.replyTo,
    create: a.create,
    sign: a.sign,
    thread: a.thread,
  });
  printSent(message, a.json);
}

/** What `abq send` prints for a message it delivered. */
export function printSent(message: Request, json: boolean): void {
  if (json) printJson(message);
  else printText(`Sent: ${message.id} -> ${message.to}`);
}
