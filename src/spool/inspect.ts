/**
 * Read-only views of the spool: finding one message in any state (counts: counts.ts; listings:
 * listing.ts).
 */
import { join } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import type { ChannelName, MessageId } from "../protocol/names.ts";
import type { Request, Response } from "../protocol/schema.ts";
import type { FoundMessage } from "../lifecycle/transport.ts";
import { STATES, type StateName } from "../lifecycle/states.ts";
import { pathExists } from "./files.ts";
import { readLease } from "./lease.ts";
import { type Queue, queueOf } from "./paths.ts";
import { readNote, readRequest, readResponse } from "./read.ts";
import type { SafeQueue } from "./counts.ts";
import { reasonPath } from "./listing.ts";
import { listChannels, listSubscribers, requireChannel } from "./registry.ts";

/** Looks for `id` in every state of one channel (or of all channels). */
export async function findMessage(
  home: string,
  id: MessageId,
  channel: ChannelName | undefined,
  maxBytes: number,
  safe: SafeQueue,
): Promise<FoundMessage> {
  const names = channel !== undefined ? [channel] : (await listChannels(home)).map((c) => c.name);
  if (channel !== undefined) await requireChannel(home, channel);
  for (const name of names) {
    const found = await findIn(await safe(queueOf(home, name)), id, maxBytes);
    if (found) return found;
  }
  // A topic message may live only in subscribers' copies.
  for (const name of names) {
    for (const sub of await listSubscribers(queueOf(home, name).dir)) {
      const found = await findIn(await safe(queueOf(home, name, sub)), id, maxBytes);
      if (found) return { ...found, subscriber: sub };
    }
  }
  throw new AbqError(
    "E_NO_MESSAGE",
    `no message ${id} in ${channel !== undefined ? `channel '${channel}'` : "any channel"}`,
    {
      hint: "list messages with: abq ls <channel> [state]",
    },
  );
}

/** The request's places, in lifecycle order: the first one found is its state. */
function requestPlaces(dir: string, id: string): Array<[string, StateName]> {
  return [
    [join(dir, "requests", `${id}.json`), "pending"],
    [join(dir, "delayed", `${id}.json`), "delayed"],
    [join(dir, "processing", `${id}.json`), "claimed"],
    [join(dir, "archive", `${id}_request.json`), "done"],
    [join(dir, "dead", `${id}.json`), "dead"],
    [join(dir, "expired", `${id}.json`), "expired"],
    [join(dir, "rejected", `${id}.json`), "rejected"],
  ];
}

async function findIn(q: Queue, id: string, maxBytes: number): Promise<FoundMessage | null> {
  const dir = q.dir;
  let request: Request | undefined;
  let state: StateName | undefined;
  const files: string[] = [];
  for (const [path, s] of requestPlaces(dir, id)) {
    if (!(await pathExists(path))) continue;
    files.push(path);
    state ??= s;
    const parsed = await readRequest(path, maxBytes).catch(() => undefined);
    if (parsed?.ok === true) request ??= parsed.value;
  }
  let response: Response | undefined;
  for (const path of [join(dir, "responses", `${id}.json`), join(dir, "archive", `${id}_response.json`)]) {
    if (!(await pathExists(path))) continue;
    files.push(path);
    const parsed = await readResponse(path, maxBytes).catch(() => undefined);
    if (parsed?.ok === true) response ??= parsed.value;
  }
  if (files.length === 0) return null;
  const final = response !== undefined && response.status !== "pending";
  // A final answer beside a request still claimed is a respond interrupted before archiving: answered.
  if (final && (state === undefined || state === "claimed")) state = "answered";
  const found: FoundMessage = { channel: q.channel, state: state ?? "answered", request, response, files };
  if (state === "claimed") found.lease = await readLease(q, id);
  const listed = STATES[found.state].listAs;
  const reason = listed !== undefined ? await readNote(reasonPath(q, listed, `${id}.json`, id)) : undefined;
  if (reason !== undefined) {
    found.reason = reason;
    // An archived request without an answer says why: acknowledged, or withdrawn (cancel, purge).
    if (found.state === "done" && !final)
      found.state = reason["state"] === "acknowledged" ? "acknowledged" : "withdrawn";
  }
  return found;
}
