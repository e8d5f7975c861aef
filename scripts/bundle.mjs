// Bundles the CLI (bin/abq.ts) into dist/bin/. Why: Node resolves, reads and compiles ES modules one at
// a time, and the unbundled CLI loaded ~165 of them per `abq send` (README "Performance"). The bundle is
// CommonJS (dist/bin/package.json says so): Node loads it with synchronous require(), which is several ms
// cheaper per call than its ES module loader, and its chunks can use the compile cache.
//
// The chunks are chosen by hand: `chunks/cli-*.js` holds the command line (commander and the command
// modules, enough for --help); `chunks/core-*.js` holds the library and the parts of zod and ulid it uses,
// loaded in one piece by the first command that does work; the NATS and MCP glue get chunks of their own.
// zod and src/identity get chunks of their own, each compiled and code-cached on its own. Kept because it
// measured no worse: side by side, `abq status` took 114 ms with the split and 122 ms without, `send` and
// `check --inbox` the same either way (2-core VM, 30 interleaved runs each).
// The packages behind them (NATS, the MCP SDK, simple-git) stay in node_modules. The library
// itself (dist/src, from tsc) stays unbundled for importers.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { rolldown } from "rolldown";
import { writeHelpTexts } from "./help-texts.mjs";

const BUNDLED = new Set(["commander", "ulid", "zod"]);
// errors and constants are what the command line itself needs (exit codes, --help text), so they go
// with it rather than pulling the whole core into `abq --help`.
const CLI = /\/src\/cli\/|\/node_modules\/commander\//;
// The fast path (src/cli/fast.ts) and what it shares with the full command line (printing, exit codes,
// errors, the actions of `send` and `check --inbox`) get a small chunk of their own: the fast path and
// the library load it without commander. The library's errors and constants live here too, so loading
// the core never loads the command line's chunk.
// A plain send (src/spool/send-plain.ts), a check that finds no mail (src/inbox/no-mail.ts) and the
// counts of `status` (src/spool/status-plain.ts) run from
// this chunk alone: it holds the few spool, identity and protocol modules they need (and ulid), which the
// core then imports from here.
const FAST = new RegExp(
  [
    "/src/cli/(fast|terminal|output|exit|color|signals|stdin|views)\\.ts",
    "/src/cli/actions/",
    "/src/protocol/(errors|constants|names|ids|random|timestamp|new-request)\\.ts",
    "/src/spool/(send-plain|local-queue|status-plain|counts|deliver|events|files|faults|paths|safety|registry)\\.ts",
    "/src/lifecycle/states\\.ts",
    "/src/identity/(index|git|remote)\\.ts",
    "/src/inbox/(no-mail|format)\\.ts",
    "/src/(fs-promised|attach/lazy)\\.ts",
    "/node_modules/ulid/",
  ].join("|"),
);
// The dashboard (src/ui) gets a chunk of its own, loaded by `abq ui` only; its barrel (a lazy wrapper)
// stays in the core.
const CORE = /\/src\/(?!cli\/|nats\/|mcp\/|ui\/(?!index\.ts))|\/node_modules\/(zod|ulid)\//;
const root = new URL("..", import.meta.url).pathname;
const pkg = JSON.parse(await readFile(`${root}package.json`, "utf8"));

const packageName = (id) => (id.startsWith("@") ? id.split("/").slice(0, 2).join("/") : id.split("/")[0]);

// Two dependencies load a Node built-in at start-up that abq's calls never use: commander loads
// node:child_process (~2 ms, with net and streams) for executable subcommands, which abq has none of;
// ulid loads node:crypto (~2 ms) for its default generator, which abq replaces (src/protocol/ids.ts).
// In the bundle both are loaded on first use instead. The build fails if either source line changes.
const LAZY_BUILTINS = [
  {
    file: "/commander/lib/command.js",
    line: "const childProcess = require('node:child_process');",
    lazy: "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };",
  },
  {
    file: "/ulid/dist/node/index.js",
    line: "import crypto from 'node:crypto';",
    lazy: "const crypto = { get randomBytes() { return process.getBuiltinModule('node:crypto').randomBytes; } };",
  },
];
const lazyBuiltins = {
  name: "lazy-builtins",
  transform(code, id) {
    const patch = LAZY_BUILTINS.find((p) => id.endsWith(p.file));
    if (patch === undefined) return null;
    if (!code.includes(patch.line))
      throw new Error(`${patch.file} changed: update LAZY_BUILTINS in scripts/bundle.mjs`);
    // One line for one line, so the rest keeps its line numbers.
    return { code: code.replace(patch.line, patch.lazy), map: null };
  },
};

rmSync(`${root}dist/bin`, { recursive: true, force: true });
const bundle = await rolldown({
  cwd: root,
  input: { abq: `${root}bin/abq.ts` },
  preserveEntrySignatures: false, // the entry exports nothing; let chunks be arranged freely
  platform: "node",
  logLevel: "warn",
  // The core group deliberately keeps modules together that are also imported dynamically.
  checks: { ineffectiveDynamicImport: false },
  // Packages stay external unless listed above (`zod` means zod/mini; classic zod is only used by the
  // MCP glue, next to the SDK that reads its schemas, so that import stays external).
  external: (id) =>
    !id.startsWith(".") &&
    !id.startsWith("/") &&
    !id.startsWith("\0") &&
    (id === "zod" || !BUNDLED.has(packageName(id))),
  plugins: [lazyBuiltins],
  transform: { define: { ABQ_BUNDLED_VERSION: JSON.stringify(pkg.version) } },
});
await bundle.write({
  dir: `${root}dist/bin`,
  format: "cjs",
  // External packages are loaded with require() too (Node >= 20.19 requires ES modules): code that V8
  // restores from the compile cache (bin/compile-cache.ts) cannot run import().
  dynamicImportInCjs: false,
  entryFileNames: "[name].js",
  chunkFileNames: "chunks/[name]-[hash].js",
  sourcemap: true,
  minify: { compress: true, mangle: false },
  codeSplitting: {
    includeDependenciesRecursively: false,
    groups: [
      { name: "fast", test: FAST, priority: 3 },
      { name: "zod", test: /node_modules\/zod\//, priority: 4 },
      { name: "cli", test: CLI, priority: 2 },
      { name: "core", test: CORE, priority: 1 },
    ],
  },
});
await bundle.close();

// Writes the compile caches (bin/compile-cache.ts) of the everyday commands, one process per command on
// a scratch bus, so a fresh build starts every one of them from compiled code.
const WARM_UP = [
  ["--help"],
  ["init"],
  ["channel", "create", "warm"],
  ["send", "warm", "command", "one"],
  ["send", "warm", "command", "two"],
  ["status"],
  ["ls", "warm"],
  ["check", "--inbox", "warm"],
  ["recv", "warm"],
  ["respond", "warm", "req_0", "done"],
  ["show", "req_0"],
];
function warmCompileCache() {
  const home = mkdtempSync(join(tmpdir(), "abq-warm-"));
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ABQ_")));
    env.ABQ_HOME = home;
    // Exit codes are not checked (respond and show of req_0 fail on purpose: error paths get cached too).
    for (const args of WARM_UP)
      spawnSync(process.execPath, [`${root}dist/bin/abq.js`, ...args], { env, cwd: root, stdio: "ignore" });
    const caches = readdirSync(`${root}dist/bin/chunks`).filter((f) => f.endsWith(".cache"));
    if (caches.length < WARM_UP.length)
      throw new Error(`compile-cache warm-up wrote only ${caches.length} cache files`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

// Code restored from the compile cache cannot run import() ("A dynamic import callback was not
// specified"), so no chunk may contain one.
for (const name of readdirSync(`${root}dist/bin/chunks`).filter((f) => f.endsWith(".js"))) {
  const code = readFileSync(`${root}dist/bin/chunks/${name}`, "utf8");
  const line = code.split("\n").find((l) => /(^|[^.\w])import\(/.test(l) && !/^\s*(\/\/|\*)/.test(l));
  if (line !== undefined) throw new Error(`dist/bin/chunks/${name} calls import(): ${line.trim()}`);
}
chmodSync(`${root}dist/bin/abq.js`, 0o755);
writeFileSync(`${root}dist/bin/package.json`, `${JSON.stringify({ type: "commonjs" })}\n`);

warmCompileCache();
writeHelpTexts(root);
