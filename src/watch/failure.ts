/**
 * How a failed handler run is told to the sender: the error text of its answer (and of its dead letter),
 * from the timeout, the stderr tail, or the signal or exit code, in that order.
 */
import type { HandlerRun } from "./handler.ts";

export function describeFailure(run: HandlerRun, timeoutMs: number | undefined): string {
  const tail = run.stderrTail.trim();
  if (run.timedOut) return `handler timed out after ${(timeoutMs ?? 0) / 1000}s${tail ? `: ${tail}` : ""}`;
  if (tail !== "") return tail;
  return run.signal !== undefined ? `handler killed by ${run.signal}` : `handler exited with code ${run.exitCode}`;
}
