/** Where a message's content comes from, for `send`, `ask` and `send --wait` alike. */
import { isTerminal } from "./terminal.ts";
import { AbqError } from "../protocol/errors.ts";
import { readStdin } from "./stdin.ts";

/**
 * The content argument, or stdin for `-` (and for no argument when stdin is a pipe or file). Empty content
 * is refused unless `allowEmpty`: it is nearly always a mistake upstream (`git diff | abq send …` with
 * nothing to diff, a command that failed before printing), not a message anyone meant to send.
 */
export async function resolveContent(content: string | undefined, allowEmpty = false): Promise<string> {
  if (content === undefined && isTerminal(0)) {
    throw new AbqError("E_USAGE", "no content given", { hint: "pass it as an argument, or pipe it in with '-'" });
  }
  const text = content !== undefined && content !== "-" ? content : await readStdin();
  if (text === "" && !allowEmpty)
    throw new AbqError("E_USAGE", "empty content (from stdin?); pass --allow-empty to send it anyway");
  return text;
}

/** The `--allow-empty` flag's help, the same for `send` and `ask`. */
export const ALLOW_EMPTY_HELP = "send empty content (refused otherwise: usually an upstream command printed nothing)";
