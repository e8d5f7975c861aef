/**
 * Ctrl-C and `kill` for commands that block. Every listener is removed when the command returns, so a
 * command run in-process (tests, the MCP server) leaves `process.listeners("SIGINT")` as it found it,
 * and a signal arriving after the work ended gets Node's default (exit) instead of a stale handler.
 */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Runs `fn` while SIGINT and SIGTERM call `onSignal` with how many signals arrived so far (1, 2, …).
 * `abq watch` uses the count: the first stops gracefully, the second kills the handlers now.
 */
export async function whileHandlingSignals<T>(onSignal: (count: number) => void, fn: () => Promise<T>): Promise<T> {
  let count = 0;
  const listener = (): void => onSignal(++count);
  for (const s of SIGNALS) process.on(s, listener);
  try {
    return await fn();
  } finally {
    for (const s of SIGNALS) process.off(s, listener);
  }
}

/** Runs `fn` with a signal that SIGINT or SIGTERM aborts: the wait ends and the command reports how. */
export function withAbortOnSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return whileHandlingSignals(
    () => controller.abort(),
    () => fn(controller.signal),
  );
}
