/**
 * Why an act on a claim (respond, ack, release, term) found no claim: the message's actual state, as the
 * error to report. A message in another state is a conflict (exit 7) that names the state and what to do;
 * only a message that is nowhere in the channel is "no message" (exit 3).
 */
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import { pathExists } from "./files.ts";
import type { Queue } from "./paths.ts";
import { at } from "./transitions.ts";

export async function notClaimedError(q: Queue, id: string): Promise<AbqError> {
  const ch = q.channel;
  const states: Array<[string, string, string]> = [
    [at.pending(q, id), "is pending, not claimed", `claim it first with: abq recv ${ch}`],
    [at.delayed(q, id), "is delayed (released or backing off), not claimed", `see when it is due: abq show ${id}`],
    [
      at.dead(q, id),
      "is dead (dead-lettered), not claimed",
      `bring it back with: abq requeue ${ch} --from-dead --id ${id}`,
    ],
    [at.expired(q, id), "expired before it was handled", `see why with: abq show ${id}`],
    [at.archived(q, id), "is already archived", `see it with: abq show ${id}`],
    [join(q.dir, "rejected", `${id}.json`), "was rejected as invalid", `see why with: abq show ${id}`],
  ];
  for (const [path, what, hint] of states) {
    if (await pathExists(path)) return new AbqError("E_CONFLICT", `message ${id} ${what}`, { hint });
  }
  return new AbqError("E_NO_MESSAGE", `no message ${id} in channel '${ch}'`, {
    hint: `list claimed messages with: abq ls ${ch} claimed`,
  });
}
