/**
 * A V8 code cache for the CLI's own chunks (dist/bin/chunks). Node compiles every script it loads from
 * scratch, and compiling abq's bundled JavaScript is about a third of what a CLI call costs above a bare
 * `node` start (README "Performance"). Node 22 can keep compiled code (`module.enableCompileCache()`);
 * Node 20 cannot, so here each chunk is compiled with the code V8 produced on an earlier run
 * (`<chunk>.js.cache`, written next to it at exit, best effort: a read-only install simply compiles as
 * before). V8 checks the source and its own version and flags, and a cache it rejects is rewritten.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { dirname } from "node:path";
import vm from "node:vm";

interface Loadable {
  exports: unknown;
  _compile: (this: Loadable, content: string, filename: string) => unknown;
}

export function installCompileCache(chunkDir: string): void {
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
    const file = `${filename}.cache`;
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
