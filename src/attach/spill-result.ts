/**
 * An answer whose result is over the spool's cap: the result moves into the attachment `result.txt`
 * (pinned until the answer is stored), leaving a note that `ask`, `show` and the library read through.
 * Called by src/spool/respond.ts, so every way of answering (respond, a claim handle, a watch handler's
 * output) gets it.
 */
import { resolve } from "node:path";
import type { Response } from "../protocol/schema.ts";
import type { Queue } from "../spool/paths.ts";
import { withAttachments } from "./prepare.ts";
import { fileStore } from "./store.ts";

export async function spillResult(
  q: Queue,
  response: Response,
  fsync: boolean,
  store: (spilled: Response) => Promise<Response>,
): Promise<Response> {
  const home = resolve(q.dir, q.subscriber !== undefined ? "../../../.." : "../..");
  const files = fileStore(home, fsync);
  const source = [Buffer.from(response.result, "utf8")];
  return withAttachments(files, response, "result", [], store, source);
}
