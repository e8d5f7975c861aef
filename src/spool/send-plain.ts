/**
 * `abq send` in its everyday case without the library's core: a queue made with `abq channel create`
 * (its channel.json sets no policy) on the local spool, with small inline content. The steps are the full
 * path's (api/messages.ts builds the same message; FsTransport.send checks the same folders, then
 * delivers and logs the event with deliver.ts and events.ts), taken from the same small modules, so what
 * lands on disk cannot be told apart. What it skips is loading the core and zod, about half of such a
 * call above a bare `node` start (docs/performance.md).
 *
 * Anything else (a bus URL, an address such as @self, a bad name, a topic, a policy, a missing or unsafe
 * folder, content that may spill into an attachment) returns undefined before anything is written, and
 * the caller takes the full path, which sends it or says why not. test/fast-path.test.ts compares both.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { surelyInline } from "../attach/lazy.ts";
import { resolveIdentity } from "../identity/index.ts";
import type { MessageType } from "../protocol/constants.ts";
import { newRequest } from "../protocol/new-request.ts";
import type { Request } from "../protocol/schema.ts";
import { deliver } from "./deliver.ts";
import { logEvent } from "./events.ts";
import { resolveFsync, resolveMaxBytes } from "./files.ts";
import { checkedLocalQueue } from "./local-queue.ts";
import type { Queue } from "./paths.ts";

export interface PlainSend {
  home?: string | undefined;
  url?: string | undefined;
  cwd?: string | undefined;
  channel: string;
  type: MessageType;
  content: string;
}

/** Delivers `a` and returns it as stored, or undefined (nothing written) when it is not the plain case. */
export async function sendPlain(a: PlainSend): Promise<Request | undefined> {
  const q = await plainQueue(a);
  if (q === undefined) return undefined;
  const agent = (await resolveIdentity({ cwd: a.cwd })).agent;
  // No policy, so the default ttl, as the full path's defaultTtl() gives.
  const message = newRequest({ type: a.type, agent, cwd: a.cwd, to: q.channel, content: a.content });
  await deliver(q, message, { sync: resolveFsync({}), maxBytes: resolveMaxBytes() });
  logEvent(q, "sent", message.id, agent);
  return message;
}

/** The checked queue `a` goes to when it is the plain case; undefined for anything the full path must judge. */
async function plainQueue(a: PlainSend): Promise<Queue | undefined> {
  if (!surelyInline(a.content)) return undefined;
  try {
    const q = await checkedLocalQueue(a, a.channel);
    if (q === undefined) return undefined;
    const config = JSON.parse(readFileSync(join(q.dir, "channel.json"), "utf8")) as unknown;
    if (typeof config !== "object" || config === null || Array.isArray(config)) return undefined;
    const { kind, policy } = config as { kind?: unknown; policy?: unknown };
    return kind === "queue" && policy === undefined ? q : undefined;
  } catch {
    return undefined; // no such channel, an unsafe folder, a broken config: the full path says which
  }
}
