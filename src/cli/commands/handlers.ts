/**
 * `abq handlers`: where the example handlers that ship with abq are (the package's handlers/ folder), so
 * `abq watch … --handler "$(abq handlers --path)/echo.sh"` works after a global install too.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { withExamples } from "../help.ts";
import { escapeControls, printJson, printText, table } from "../output.ts";

export function registerHandlers(program: Command): void {
  const handlers = program
    .command("handlers")
    .description("list the example handlers that ship with abq, and where they are")
    .option("--path", "print only the folder")
    .option("--json", "print {dir, handlers: [{name, path, description}]} as JSON")
    .action((opts: { path?: boolean; json?: boolean }) => {
      const dir = handlersDir();
      if (opts.path) return printText(dir);
      const list = readdirSync(dir)
        .filter((name) => !name.startsWith(".") && statSync(join(dir, name)).isFile())
        .sort()
        .map((name) => ({ name, path: join(dir, name), description: firstComment(join(dir, name)) }));
      if (opts.json) return printJson({ dir, handlers: list });
      printText(
        `${dir}\n${table(list.map((h) => [`  ${h.name}`, escapeControls(h.description)]))}\n` +
          `(use one: abq watch <channel> --handler ${join(dir, "echo.sh")})`,
      );
    });
  withExamples(
    handlers,
    "abq handlers",
    'abq watch reviews --handler "$(abq handlers --path)/echo.sh"',
    'cp "$(abq handlers --path)/dispatch.sh" ./my-handler.sh',
  );
}

/**
 * The package's handlers/ folder. The CLI runs as <package>/dist/bin/abq.js (through any symlink a global
 * install made), so it is ../../handlers from there; failing that, the nearest handlers/ above it.
 */
function handlersDir(): string {
  const script = process.argv[1];
  if (script !== undefined) {
    let dir: string;
    try {
      dir = dirname(realpathSync(script));
    } catch {
      dir = dirname(script);
    }
    for (let up = 0; up < 5; up++) {
      const candidate = join(dir, "handlers");
      if (isDir(candidate) && isDir(join(dir, "dist"))) return candidate;
      if (dirname(dir) === dir) break;
      dir = dirname(dir);
    }
  }
  throw new AbqError("E_IO", "cannot find the handlers folder of this abq installation", {
    hint: "run abq from its package (dist/bin/abq.js); the handlers are in the package's handlers/ folder",
  });
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The first comment line of a script (after any `#!` line), without its `#` or `//`. */
function firstComment(path: string): string {
  try {
    const head = readFileSync(path, "utf8").slice(0, 4096).split("\n");
    for (const line of head) {
      if (line.startsWith("#!")) continue;
      const m = /^\s*(?:#|\/\/)\s?(.*)$/.exec(line);
      if (m) return m[1]!.trim();
      if (line.trim() !== "") break;
    }
  } catch {
    // unreadable: no description
  }
  return "";
}
