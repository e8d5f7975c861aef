/**
 * The inbox hook's everyday answer without the library's core: `abq check --inbox` on the local spool
 * when nothing is pending, which is most prompts of most agents. The checks are the full path's
 * (checkInbox in check.ts: the channel or @self/@parent resolved by the same identity code, the same
 * folder checks, then `requests/` read until its first name that does not start with a dot), so the
 * summary is the one it would give; what this skips is loading the core and zod (docs/performance.md).
 * With mail, that read stops at the first message (one getdents of 32 entries, not a listing of 5 000):
 * the full path lists the folder once itself.
 *
 * Anything else (a bus URL, a suffix address, a missing channel, an unsafe folder, a pending message to
 * describe) returns undefined and the caller asks the full path, which reads the mail or says what is
 * wrong. test/fast-path.test.ts compares both.
 */
import { opendirSync } from "node:fs";
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
    let mail: boolean;
    try {
      mail = anyMessage(join(q.dir, "requests"));
    } catch (err) {
      // An inbox never used counts as empty (checkInbox); any other missing channel is the full path's error.
      if (own && errnoCode(err) === "ENOENT") return { channel: q.channel, pending: 0, messages: [] };
      return undefined;
    }
    return mail ? undefined : { channel: q.channel, pending: 0, messages: [] };
  } catch {
    return undefined;
  }
}

/** Whether the folder holds a name that does not start with a dot; reads no further than the first. */
function anyMessage(folder: string): boolean {
  const dir = opendirSync(folder);
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (!entry.name.startsWith(".")) return true;
    }
    return false;
  } finally {
    dir.closeSync();
  }
}

async function ownInbox(address: "@self" | "@parent", cwd: string | undefined): Promise<string | undefined> {
  const identity = await resolveIdentity({ cwd });
  const agent = address === "@self" ? identity.agent : identity.parent;
  return agent === undefined ? undefined : inboxName(agent);
}
