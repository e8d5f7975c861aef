/**
 * The inbox hook's everyday answer without the library's core: `abq check --inbox` on the local spool
 * when nothing is pending, which is most prompts of most agents. The checks are the full path's
 * (checkInbox in check.ts: the channel or @self/@parent resolved by the same identity code, the same
 * folder checks, one readdir of `requests/` counting names that do not start with a dot), so the summary
 * is the one it would give; what this skips is loading the core and zod (docs/performance.md).
 *
 * Anything else (a bus URL, a suffix address, a missing channel, an unsafe folder, a pending message to
 * describe) returns undefined and the caller asks the full path, which reads the mail or says what is
 * wrong. test/fast-path.test.ts compares both.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { inboxName, resolveIdentity } from "../identity/index.ts";
import { errnoCode } from "../protocol/errors.ts";
import { checkedLocalQueue, onLocalSpool } from "../spool/local-queue.ts";
import type { InboxSummary } from "./check.ts";

export interface NoMailQuery {
  home?: string | undefined;
  url?: string | undefined;
  cwd?: string | undefined;
  /** A channel name, `@self` or `@parent`. */
  channel: string;
}

/** The empty summary when the queue surely has no pending message; undefined when the full path must look. */
export async function noMail(query: NoMailQuery): Promise<InboxSummary | undefined> {
  if (!onLocalSpool(query)) return undefined; // before identity is read
  try {
    const address = query.channel;
    const own = address === "@self" || address === "@parent";
    const channel = own ? await ownInbox(address, query.cwd) : address;
    const q = channel === undefined ? undefined : await checkedLocalQueue(query, channel);
    if (q === undefined) return undefined;
    let names: string[];
    try {
      names = readdirSync(join(q.dir, "requests"));
    } catch (err) {
      // An inbox never used counts as empty (checkInbox); any other missing channel is the full path's error.
      if (own && errnoCode(err) === "ENOENT") return { channel: q.channel, pending: 0, messages: [] };
      return undefined;
    }
    return names.some((n) => !n.startsWith(".")) ? undefined : { channel: q.channel, pending: 0, messages: [] };
  } catch {
    return undefined;
  }
}

async function ownInbox(address: "@self" | "@parent", cwd: string | undefined): Promise<string | undefined> {
  const identity = await resolveIdentity({ cwd });
  const agent = address === "@self" ? identity.agent : identity.parent;
  return agent === undefined ? undefined : inboxName(agent);
}
