#!/usr/bin/env node
import { join } from "node:path";
import { installCompileCache } from "./compile-cache.ts";

// The rest of the CLI is loaded after the cache is in place (the bundle turns this import into a
// require). No top-level await: chunks loaded later must never wait on this module to finish.
installCompileCache(join(__dirname, "chunks"));
void import("../src/cli/main.ts")
  .then(({ main }) => main(process.argv))
  .then((code) => {
    process.exitCode = code;
  });
