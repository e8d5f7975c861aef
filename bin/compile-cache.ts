/**
 * A V8 code cache for the CLI's own chunks (dist/bin/chunks). Node compiles every script it loads from
 * scratch, and compiling abq's bundled JavaScript is about a third of what a CLI call costs above a bare
 * `node` start (README "Performance"). Node 22 can keep compiled code (`module.enableCompileCache()`);
 * Node 20 cannot, so here each chunk is compiled with the code V8 produced on an earlier run of the
 * same command (`<chunk>.js.<command>.cache`), written at exit by the first run that finds none: it
 * holds the functions that command ran. One cache per command, because V8 restores a cache in time
 * proportional to its size: a cache holding every command's code made `abq send` slower than none.
 * The build writes the caches of the everyday commands (scripts/bundle.mjs); others are written on first
 * use, best effort (a read-only install simply compiles as before).
 *
 * V8 rejects a cache made by another V8 version or other flags (it is then rewritten), but it checks the
 * source only by length; what keeps a cache with its own code is the content hash in every chunk's name.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { dirname } from "node:path";
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
  const proto = (Module as unknown as { prototype: Loadable }).prototype;
  const compile = proto._compile;
  const stale: { script: vm.Script; file: string }[] = [];
  proto._compile = function (this: Loadable, content: string, filename: string): unknown {
    if (!filename.startsWith(chunkDir)) return compile.call(this, content, filename);
    const file = `${filename}.${command}.cache`;
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      // first run: no cache yet
    }
    // Module.wrap's exact wrapper, so line numbers in stack traces stay right.
    const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${content}\n});`, {
      filename,
      ...(cachedData !== undefined ? { cachedData } : {}),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected === true) stale.push({ script, file });
    const wrapper = script.runInThisContext() as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, Module.createRequire(filename), this, filename, dirname(filename));
  };
  // At exit the cache also holds the functions this run compiled lazily, not just the top level.
  process.once("exit", () => {
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
