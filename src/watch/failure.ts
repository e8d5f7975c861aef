/**
 * How a failed handler run is told to the sender: the error text of its answer (and of its dead letter),
 * from the timeout, the stderr tail, or the signal or exit code, in that order.
 */
import type { ClaimHandle } from "../lifecycle/transport.ts";
import { AbqError } from "../protocol/errors.ts";
import type { HandlerRun } from "./handler.ts";

export function describeFailure(run: HandlerRun, timeoutMs: number | undefined): string {
  const tail = run.stderrTail.trim();
  if (run.timedOut) return `handler timed out after ${(timeoutMs ?? 0) / 1000}s${tail ? `: ${tail}` : ""}`;
  if (tail !== "") return tail;
  return run.signal !== undefined ? `handler killed by ${run.signal}` : `handler exited with code ${run.exitCode}`;
}

/**
 * Answers with the handler's output; output too large to be stored as an answer (E_TOO_LARGE) becomes an
 * error answer that says so, so the message is finished rather than left claimed and retried forever.
 */
export async function answerWithin(claimed: ClaimHandle, ok: boolean, output: string, error: string): Promise<void> {
  try {
    if (ok) await claimed.respond(output);
    else await claimed.fail(error, output);
  } catch (err) {
    if (!(err instanceof AbqError && err.code === "E_TOO_LARGE")) throw err;
    await claimed.fail(`handler output is too large to answer with: ${err.message}`);
  }
}
