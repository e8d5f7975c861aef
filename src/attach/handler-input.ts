/**
 * What a watch handler is given for a message with attachments (src/watch/handler.ts): the local, checked
 * path of each, newline-separated in ABQ_ATTACHMENTS and as `path` in each `attachments` entry of the
 * message JSON on stdin, whose `content` is also read back in full when it was spilled.
 */
import type { Request } from "../protocol/schema.ts";
import { hydrate, localAttachments } from "./read.ts";
import { defaultStore } from "./store.ts";

type Env = Record<string, string | undefined>;

/** A run that did not start because of this message (see MESSAGE_SPAWN_ERRORS in src/watch/handler.ts). */
interface NotRun {
  exitCode: undefined;
  signal: undefined;
  stdout: string;
  stderrTail: string;
  timedOut: false;
  startError: string;
  startErrorIsMessage: true;
}

/**
 * The stdin JSON and environment of a run; `failed` when an attachment is missing or corrupt (E_IO): the
 * run then counts as a failed attempt for this message, which stays (dead-lettered past max_attempts).
 */
export async function handlerInput(
  message: Request,
  env: Env,
): Promise<{ input: string; env: Env } | { failed: NotRun }> {
  try {
    const store = await defaultStore(env["ABQ_HOME"] ?? "");
    const local = await localAttachments(store, message, message.id);
    const full = await hydrate(store, message, "content", message.id);
    return {
      input: JSON.stringify({ ...full, attachments: local }),
      env: { ...env, ABQ_ATTACHMENTS: local.map((a) => a.path).join("\n") },
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const failed: NotRun = {
      ...{ exitCode: undefined, signal: undefined, stdout: "", stderrTail: "", timedOut: false },
      ...{ startError: reason, startErrorIsMessage: true },
    };
    return { failed };
  }
}
