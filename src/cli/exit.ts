/**
 * The one place that maps error codes to exit codes and prints errors. Scripts may rely on these numbers;
 * the README's exit-code table is generated from the same list by hand, so change both together.
 */
import { AbqError, errnoCode, isAbqError, permissionError } from "../protocol/errors.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { paint } from "./color.ts";
import { escapeControls, writeOut } from "./output.ts";
import { Interrupted } from "./signals.ts";

export const EXIT = {
  OK: 0,
  /** An unexpected failure: a bug in abq. */
  INTERNAL: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  EMPTY: 4,
  TIMEOUT: 5,
  IO: 6,
  CONFLICT: 7,
  RESPONSE_ERROR: 8,
  UNSAFE: 9,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  E_USAGE: EXIT.USAGE,
  E_BAD_NAME: EXIT.USAGE,
  E_BAD_MESSAGE: EXIT.USAGE,
  E_TOO_LARGE: EXIT.USAGE,
  E_NO_CHANNEL: EXIT.NOT_FOUND,
  E_NO_MESSAGE: EXIT.NOT_FOUND,
  E_EMPTY: EXIT.EMPTY,
  E_TIMEOUT: EXIT.TIMEOUT,
  E_IO: EXIT.IO,
  E_CONFLICT: EXIT.CONFLICT,
  E_RESPONSE_ERROR: EXIT.RESPONSE_ERROR,
  E_UNSAFE: EXIT.UNSAFE,
};

export function exitCodeFor(err: unknown): number {
  return isAbqError(err) ? BY_CODE[err.code] : EXIT.INTERNAL;
}

/** One line on stderr (a JSON object with `--json`); unknown errors are reported as bugs with their stack. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof Interrupted) {
    // Not an AbqError: the library never raises it, and its exit code is the shell's 128 + signal.
    const error = { code: "E_INTERRUPTED", message: err.message, hint: undefined };
    writeOut(2, json ? `${JSON.stringify({ error })}\n` : `abq: ${err.message}\n`);
    return err.exitCode;
  }
  // A system call that failed underneath (ENOTDIR, EACCES, ENOSPC, EROFS, …) is an I/O error, not a bug.
  const errno = errnoCode(err);
  if (!isAbqError(err) && (errno === "EACCES" || errno === "EPERM")) {
    const { syscall, path } = err as NodeJS.ErrnoException;
    err = permissionError(`cannot ${syscall ?? "open"} ${path ?? "a bus folder"}`, err);
  } else if (!isAbqError(err) && errno !== undefined && /^E[A-Z]+$/.test(errno)) {
    err = new AbqError("E_IO", err instanceof Error ? err.message : String(err), {
      hint: "check the bus folder (ABQ_HOME), its permissions and free space",
    });
  }
  const code = exitCodeFor(err);
  if (isAbqError(err)) {
    if (json) {
      writeOut(2, `${JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint } })}\n`);
    } else {
      // One line, and nothing a terminal would act on: messages quote names and content from users.
      const text = escapeControls(`${err.message}${err.hint !== undefined ? ` (${err.hint})` : ""}`);
      writeOut(2, `${paint(2, ["bold", "red"], "abq:")} ${text.replace(/\n/g, "\\n").replace(/\t/g, "\\t")}\n`);
    }
    return code;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  writeOut(2, `abq: internal error, this is a bug: ${detail}\n`);
  return code;
}
