/**
 * Colour, used sparingly: the `abq:` prefix of errors, table headings, state words. Only on a terminal,
 * and never with NO_COLOR set (to anything but the empty string, https://no-color.org) or `--no-color`.
 * Message content is never coloured: it is escaped (output.ts) and printed as it is.
 */
import { isTerminal } from "./terminal.ts";
import { styleText } from "node:util";

type Style = "red" | "green" | "yellow" | "cyan" | "dim" | "bold";

const decided = new Map<number, boolean>();

/** Whether text written to `fd` (1 stdout, 2 stderr) may be coloured. */
export function colorOn(fd: 1 | 2): boolean {
  let on = decided.get(fd);
  if (on === undefined) {
    on = (process.env["NO_COLOR"] ?? "") === "" && !process.argv.includes("--no-color") && isTerminal(fd);
    decided.set(fd, on);
  }
  return on;
}

/** `text` in `style` when `fd` may be coloured; as it is otherwise. */
export function paint(fd: 1 | 2, style: Style | Style[], text: string): string {
  if (text === "" || !colorOn(fd)) return text;
  // validateStream: false, because colorOn decided already, for the stream the text goes to (Node 22 and
  // newer would otherwise look at stdout, even for stderr). Node 20 takes no options and never checks.
  return (styleText as (f: Style | Style[], t: string, o: { validateStream: boolean }) => string)(style, text, {
    validateStream: false,
  });
}

/** Colours of state words (`show`, `agents`, `check`): trouble red, waiting yellow, done green. */
const STATE_STYLES: Record<string, Style> = {
  dead: "red",
  rejected: "red",
  error: "red",
  expired: "yellow",
  late: "yellow",
  warn: "yellow",
  pending: "yellow",
  requests: "yellow",
  delayed: "yellow",
  claimed: "cyan",
  processing: "cyan",
  live: "green",
  fixed: "green",
  success: "green",
  done: "green",
  archive: "green",
  archived: "green",
  answered: "green",
  responses: "green",
};

/** A state word, coloured by what it means when printed to `fd`. */
export function paintState(fd: 1 | 2, word: string): string {
  const style = STATE_STYLES[word];
  return style !== undefined ? paint(fd, style, word) : word;
}
