/**
 * Errors abq raises on purpose. Each has a stable string `code` that scripts, the CLI's exit-code table
 * (src/cli/exit.ts) and the MCP server can rely on; the message is for humans and may change.
 */

export type ErrorCode =
  /** Bad arguments or options: fix the command line. */
  | "E_USAGE"
  /** A channel name that is not allowed (path traversal, bad characters, too long). */
  | "E_BAD_NAME"
  /** Input that is not a valid message (bad JSON, wrong schema). */
  | "E_BAD_MESSAGE"
  /** A message larger than the configured cap. */
  | "E_TOO_LARGE"
  /** The channel does not exist. */
  | "E_NO_CHANNEL"
  /** No message with that id in the state the command needs. */
  | "E_NO_MESSAGE"
  /** Nothing to receive right now. */
  | "E_EMPTY"
  /** A wait ran out of time. */
  | "E_TIMEOUT"
  /** The message is in a state that does not allow the operation (already answered, not claimed). */
  | "E_CONFLICT"
  /** An answer arrived with status `error` (ask / send --wait). */
  | "E_RESPONSE_ERROR"
  /** The filesystem (or a transport) failed underneath us. */
  | "E_IO"
  /** The bus folder is unsafe to use (a symbolic link, writable by everyone, owned by someone else). */
  | "E_UNSAFE";

export class AbqError extends Error {
  readonly code: ErrorCode;
  /** One short sentence telling the user what to do next, printed after the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { hint?: string }) {
    super(message, options);
    this.name = "AbqError";
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isAbqError(err: unknown): err is AbqError {
  return err instanceof AbqError;
}

/**
 * Wraps an unexpected filesystem failure so the CLI reports it as an I/O error, keeping the cause. An
 * AbqError passes through as it is (it already says what went wrong; wrapping would repeat the prefix
 * and could hide a more precise code), and a full disk says so in plain words, since that is the one
 * I/O error its reader can fix.
 */
export function ioError(action: string, cause: unknown): AbqError {
  if (isAbqError(cause)) return cause;
  const errno = errnoCode(cause);
  if (errno === "ENOSPC" || errno === "EDQUOT") {
    const what = errno === "ENOSPC" ? "the disk is full" : "the disk quota is used up";
    return new AbqError("E_IO", `${action}: ${what} (${errno})`, {
      cause,
      hint: "free some space where ABQ_HOME lives, then try again",
    });
  }
  if (errno === "EACCES" || errno === "EPERM") return permissionError(action, cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AbqError("E_IO", `${action}: ${detail}`, { cause });
}

/**
 * The kernel said no: not an outage to wait out (a watcher rides out E_IO) but a permission, exit 9. On a
 * channel shared read-only this is a send, claim or answer refused; after `abq unshare`, any operation.
 */
export function permissionError(action: string, cause: unknown): AbqError {
  return new AbqError("E_UNSAFE", `${action}: permission denied (${errnoCode(cause) ?? "EACCES"})`, {
    cause,
    hint: "a channel shared with you read-only, or no longer shared; its owner can tell: abq shares",
  });
}

/** Node's errno code of a caught error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}
