// Writes the help the built CLI prints into a pipe, one file per command (dist/bin/help/<command>.txt,
// `abq.txt` for `abq --help`), for bin/help-text.ts: `abq --help` and `abq <command> --help` then print a
// file instead of loading commander and every command module (~30 ms of a ~95 ms call on a 2-core VM,
// docs/performance.md). Each text is what commander printed for the same words in the same build, so the
// two can only differ if the help depends on the process, which the checks below rule out.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The command words `abq --help` lists, aliases included (`check|doctor`). */
function commandWords(topHelp) {
  const words = [];
  for (const line of topHelp.split("\n")) {
    const m = /^ {2}([a-z]+)(?:\|([a-z]+))?(?: |$)/.exec(line);
    if (m) words.push(...m.slice(1).filter((w) => w !== undefined));
  }
  return words;
}

export function writeHelpTexts(root) {
  const cli = join(root, "dist", "bin", "abq.js");
  // No ABQ_* and no colour settings: what a plain pipe gets.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("ABQ_") && !/^(FORCE_COLOR|CLICOLOR_FORCE|NO_COLOR)$/.test(k),
    ),
  );
  env.ABQ_FAST_PATH = "0";
  env.ABQ_HOME = "/nonexistent/abq-help"; // the help never touches the bus; this makes sure of it
  const help = (args) => {
    const r = spawnSync(process.execPath, [cli, ...args], { env, cwd: root, encoding: "utf8" });
    if (r.status !== 0 || r.stderr !== "" || r.stdout === "")
      throw new Error(`abq ${args.join(" ")}: exit ${r.status}, stderr ${JSON.stringify(r.stderr.slice(0, 200))}`);
    // A text naming this build's folder would be wrong once the package is installed somewhere else.
    if (r.stdout.includes(root.replace(/\/$/, "")))
      throw new Error(`abq ${args.join(" ")} prints the build folder: it cannot be stored`);
    return r.stdout;
  };
  const dir = join(root, "dist", "bin", "help");
  mkdirSync(dir, { recursive: true });
  const top = help(["--help"]);
  writeFileSync(join(dir, "abq.txt"), top);
  const words = commandWords(top);
  if (words.length < 20) throw new Error(`found only ${words.length} commands in abq --help`);
  // `abq help help` is commander's own case (a usage error), not a stored text.
  for (const word of words.filter((w) => w !== "help")) writeFileSync(join(dir, `${word}.txt`), help([word, "--help"]));
  return words.length;
}
