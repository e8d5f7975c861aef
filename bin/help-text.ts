/**
 * `abq --help` and `abq <command> --help` into a pipe, from the text the build stored
 * (scripts/help-texts.mjs, dist/bin/help/): agents read help through pipes, and building commander's
 * program for it loads the command line's whole chunk (docs/performance.md). Only the plain shapes are
 * answered here — `--help`, `-h`, `help`, `<command> --help|-h` — and only where
 * commander would print the stored text: not on a terminal or /dev/null (a character device; there it
 * wraps to the width and may colour), not with FORCE_COLOR or CLICOLOR_FORCE set, not with
 * ABQ_FAST_PATH=0. Anything else, or a missing file, is commander's. test/help-text.test.ts compares
 * both ways for every command.
 */
import { fstatSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const WORD = /^[a-z]{1,20}$/;

/** Which stored help `argv` (after node and the script) asks for: "abq", a command word, or undefined. */
export function helpAsked(argv: readonly string[]): string | undefined {
  const [first = "", second = ""] = argv;
  if (argv.length === 1 && (first === "--help" || first === "-h" || first === "help")) return "abq";
  if (argv.length !== 2) return undefined;
  if ((second === "--help" || second === "-h") && WORD.test(first)) return first;
  return undefined;
}

/** Prints the stored help `argv` asks for and returns true; false when commander must answer. */
export function printStoredHelp(folder: string, argv: readonly string[]): boolean {
  const word = helpAsked(argv);
  const env = process.env;
  if (word === undefined || env["ABQ_FAST_PATH"] === "0") return false;
  if (env["FORCE_COLOR"] !== undefined || env["CLICOLOR_FORCE"] !== undefined || characterDevice(1)) return false;
  let text: Buffer;
  try {
    text = readFileSync(join(folder, "help", `${word}.txt`));
  } catch {
    return false; // not a command (commander suggests one), or a build without the texts
  }
  let done = 0;
  try {
    while (done < text.length) done += writeSync(1, text, done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The reader left (`abq --help | head -1`): stop quietly, as commander's writer does.
    if (code === "EAGAIN") process.stdout.write(text.subarray(done));
    else if (code !== "EPIPE") throw err;
  }
  return true;
}

/** src/cli/terminal.ts asks the same; importing it here would load the `fast` chunk for every --help. */
function characterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}
