/**
 * A V8 code cache for the CLI's own chunks (dist/bin/chunks). Node compiles every script it loads from
 * scratch, and compiling abq's bundled JavaScript is about a third of what a CLI call costs above a bare
 * `node` start (README "Performance"). Node 22 can keep compiled code (`module.enableCompileCache()`);
 * Node 20 cannot, so here each chunk is compiled with the code V8 produced on an earlier run of the
 * same command (`<chunk>.js.<command>.cache`), written at exit by the first run that finds none: it
 * holds the functions that command ran. One cache per command, because V8 restores a cache in time
 * proportional to its size: a cache holding every command's code made `abq send` slower than none.
 * The build writes the caches of the everyday commands (scripts/bundle.mjs); others are written on first
 * use, best effort, and only for a command the CLI knows (a typo such as `abq sned` writes nothing).
 *
 * Where: a cache is code V8 runs, so it is only ever read from, or written to, a folder that could not
 * have been planted by someone else. The chunks' own folder counts when it belongs to us or to root (whoever
 * owns it owns the code too) and nobody else can write to it; caches are written there only when it is
 * ours. Otherwise (a global install run by another user) they live in a per-user folder,
 * `$XDG_CACHE_HOME/abq` or `~/.cache/abq` (made 0700), used only when it is a real folder of ours that
 * nobody else can write to.
 *
 * V8 rejects a cache made by another V8 version or other flags (it is then rewritten), but it checks the
 * source only by length; what keeps a cache with its own code is the content hash in every chunk's name.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import vm from "node:vm";

interface Loadable {
  exports: unknown;
  _compile: (this: Loadable, content: string, filename: string) => unknown;
}

/** `command` names the cache: the command word being run, or "abq" for none. */
export function installCompileCache(chunkDir: string, command: string): void {
  if (process.env["ABQ_COMPILE_CACHE"] === "0") return;
  const builtin = (Module as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof builtin === "function") {
    builtin(); // Node >= 22.1 does this itself, for every module
    return;
  }
  const where = cacheFolders(chunkDir);
  if (where.read.length === 0) return;
  const proto = (Module as unknown as { prototype: Loadable }).prototype;
  const compile = proto._compile;
  const stale: { script: vm.Script; file: string }[] = [];
  proto._compile = function (this: Loadable, content: string, filename: string): unknown {
    if (!filename.startsWith(chunkDir)) return compile.call(this, content, filename);
    const name = `${basename(filename)}.${command}.cache`;
    let cachedData: Buffer | undefined;
    for (const dir of where.read) {
      try {
        cachedData = readFileSync(join(dir, name));
        break;
      } catch {
        // not cached there (yet)
      }
    }
    // Module.wrap's exact wrapper, so line numbers in stack traces stay right.
    const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${content}\n});`, {
      filename,
      ...(cachedData !== undefined ? { cachedData } : {}),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if ((cachedData === undefined || script.cachedDataRejected === true) && where.write !== undefined)
      stale.push({ script, file: join(where.write, name) });
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, Module.createRequire(filename), this, filename, dirname(filename));
  };
  // At exit the cache also holds the functions this run compiled lazily, not just the top level.
  process.once("exit", () => {
    if ((globalThis as Record<symbol, unknown>)[KNOWN_COMMAND] !== true) return; // a typo: cache nothing
    for (const { script, file } of stale) {
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, file);
      } catch {
        // read-only install or a full disk: run uncached, as without this module
      }
    }
  });
}

/** Set by the CLI (src/cli/main.ts) once it has recognised the command it runs. */
const KNOWN_COMMAND = Symbol.for("abq.known-command");

/** The folders to read caches from (in order) and the one to write them to. */
function cacheFolders(chunkDir: string): { read: string[]; write: string | undefined } {
  const uid = process.getuid?.() ?? -1;
  const own = (path: string, owners: number[]): boolean => {
    try {
      const st = lstatSync(path);
      return st.isDirectory() && owners.includes(st.uid) && (st.mode & 0o022) === 0;
    } catch {
      return false;
    }
  };
  if (own(chunkDir, [uid])) return { read: [chunkDir], write: chunkDir };
  const read = own(chunkDir, [0]) ? [chunkDir] : [];
  const base = process.env["XDG_CACHE_HOME"];
  const mine = join(base !== undefined && isAbsolute(base) ? base : join(homedir(), ".cache"), "abq");
  try {
    mkdirSync(mine, { recursive: true, mode: 0o700 });
    if (own(mine, [uid])) return { read: [mine, ...read], write: mine };
  } catch {
    // no home, or a read-only one: compile as without a cache
  }
  return { read, write: undefined };
}
