/** Where a message's content comes from, for `send`, `ask` and `send --wait` alike. */
import { AbqError } from "../protocol/errors.ts";
import { readStdin } from "./stdin.ts";

/** The content argument, or stdin for `-` (and for no argument when stdin is a pipe or file). */
export async function resolveContent(content: string | undefined): Promise<string> {
  if (content !== undefined && content !== "-") return content;
  if (content === undefined && process.stdin.isTTY) {
    throw new AbqError("E_USAGE", "no content given", { hint: "pass it as an argument, or pipe it in with '-'" });
  }
  return readStdin();
}
