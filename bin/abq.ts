#!/usr/bin/env node
import { join } from "node:path";
import { installCompileCache } from "./compile-cache.ts";
import { printStoredHelp } from "./help-text.ts";

// The command word (`abq [--home x] send …` → "send"), naming the compile cache to use. (src/cli/main.ts
// finds it too, for commander; this copy exists because nothing of the CLI may load before the cache.)
const word = process.argv.slice(2).find((a, i, all) => !a.startsWith("-") && !/^--(home|url)$/.test(all[i - 1] ?? ""));

// `send --batch`, `requeue` and `sweep` fsync a slice's files all at once (src/spool/send-batch.ts,
// bulk-files.ts fsyncAll), and the disk covers concurrent fsyncs with fewer journal commits; libuv's pool
// runs only 4 at a time unless told before its first use, which is now. 32, side by side on a 2-core VM:
// 5 000 batch lines ran at 1 844–2 879 msg/s with 4 threads and 5 034–5 368 with 32; requeue of 5 000
// dead-owner claims at 693–874 and 1 334–1 521 msg/s (docs/performance.md). A value the user set is kept.
const bulkFsyncs = (word === "send" && process.argv.includes("--batch")) || word === "requeue" || word === "sweep";
if (bulkFsyncs) process.env["UV_THREADPOOL_SIZE"] ??= "32";

// `abq --help` and `abq <command> --help` into a pipe print the text the build stored (bin/help-text.ts).
if (!printStoredHelp(__dirname, process.argv.slice(2))) start();

// The rest of the CLI is loaded after the cache is in place (the bundle turns this import into a
// require). No top-level await: chunks loaded later must never wait on this module to finish.
function start(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for("abq.cli")] = true; // see src/protocol/zod.ts
  installCompileCache(join(__dirname, "chunks"), word !== undefined && /^[a-z]{1,20}$/.test(word) ? word : "abq");
  const runMain = (): Promise<void> =>
    import("../src/cli/main.ts").then(async ({ main }) => {
      process.exitCode = await main(process.argv);
    });
  // `send`, `check`, `recv` and `status` try the fast path first (src/cli/fast.ts): their everyday shapes
  // skip commander.
  const fast = word === "send" || word === "check" || word === "recv" || word === "status";
  if (fast && process.env["ABQ_FAST_PATH"] !== "0") {
    void import("../src/cli/fast.ts").then(async ({ runFast }) => {
      const code = await runFast(process.argv.slice(2));
      if (code === undefined) await runMain();
      else process.exitCode = code;
    });
  } else void runMain();
}
