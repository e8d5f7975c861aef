/**
 * The first step of the CLI's core-free paths (send-plain.ts, status-plain.ts, src/inbox/no-mail.ts): the queue a plain
 * channel name names on the local spool, with the folder checks every spool call makes first
 * (safety.ts, as SpoolBase.queue does). Undefined when the bus is not the local spool or the name is not
 * a channel name; an unsafe folder throws, as on the full path.
 */
import { isChannelName } from "../protocol/names.ts";
import { type Queue, queueOf, resolveHome } from "./paths.ts";
import { assertSafeHome, assertSafeQueue } from "./safety.ts";

/** Whether the options name the local spool: no bus URL given, in the options or in ABQ_URL. */
export function onLocalSpool(opts: { url?: string | undefined }): boolean {
  return (opts.url ?? process.env["ABQ_URL"] ?? "") === "";
}

export async function checkedLocalQueue(
  opts: { home?: string | undefined; url?: string | undefined },
  channel: string,
): Promise<Queue | undefined> {
  if (!onLocalSpool(opts) || !isChannelName(channel)) return undefined;
  const home = resolveHome(opts);
  const q = queueOf(home, channel);
  await assertSafeHome(home);
  await assertSafeQueue(q.dir, home);
  return q;
}
