/**
 * Ctrl-C and `kill` for commands that block. Every listener is removed when the command returns, so a
 * command run in-process (tests, the MCP server) leaves `process.listeners("SIGINT")` as it found it,
 * and a signal arriving after the work ended gets Node's default (exit) instead of a stale handler.
 */
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
type StopSignal = (typeof SIGNALS)[number];

/** Exit status of a process ended by a signal, as shells report it: 128 + the signal's number. */
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * A wait that ended because the user interrupted it. The library reports an aborted wait as E_TIMEOUT (it
 * cannot tell why its signal fired); the CLI knows, and a script must not mistake Ctrl-C for a timeout.
 */
export class Interrupted extends Error {
  readonly signal: StopSignal;
  readonly exitCode: number;

  constructor(signal: StopSignal) {
    super(`interrupted (${signal})`);
    this.name = "Interrupted";
    this.signal = signal;
    this.exitCode = SIGNAL_EXIT[signal];
  }
}

/**
 * Runs `fn` while SIGINT and SIGTERM call `onSignal` with how many signals arrived so far (1, 2, …).
 * `abq watch` uses the count: the first stops gracefully, the second kills the handlers now.
 */
export async function whileHandlingSignals<T>(
  onSignal: (count: number, signal: StopSignal) => void,
  fn: () => Promise<T>,
): Promise<T> {
  let count = 0;
  const listeners = SIGNALS.map((s) => [s, (): void => onSignal(++count, s)] as const);
  for (const [s, listener] of listeners) process.on(s, listener);
  try {
    return await fn();
  } finally {
    for (const [s, listener] of listeners) process.off(s, listener);
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

/**
 * Like `withAbortOnSignals`, for a wait whose end by signal is a failure (`ask`, `recv --wait`, `wait`):
 * when `fn` fails once a signal arrived, it throws `Interrupted` (exit 130 or 143) instead. A result that
 * came in anyway (a message claimed just then) is still returned, so it is printed, not lost.
 */
export function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const seen: { signal?: StopSignal } = {};
  return whileHandlingSignals(
    (_count, signal) => {
      seen.signal ??= signal;
      controller.abort();
    },
    async () => {
      try {
        return await fn(controller.signal);
      } catch (err) {
        if (seen.signal !== undefined) throw new Interrupted(seen.signal);
        throw err;
      }
    },
  );
}
