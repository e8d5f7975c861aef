// Shared helpers for the benchmark scripts: paths, temp buses, timed process runs, statistics.
// Every script imports the BUILT library (dist/src/index.js) and spawns the built CLI (dist/bin/abq.js).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "dist", "bin", "abq.js");
export const LIB = join(ROOT, "dist", "src", "index.js");
export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** Full-run value, or the quick one with --quick. */
export const pick = (full, quick) => (QUICK ? quick : full);

export async function loadLib() {
  if (!existsSync(LIB)) throw new Error(`no ${LIB}: build first (npm run build)`);
  return import(pathToFileURL(LIB).href);
}

/**
 * Environment for child processes: no inherited ABQ_* (identity and fsync are what the product defaults
 * to), and ABQ_HOME pointing at a path that does not exist unless the caller gives one, so nothing a bench
 * spawns can ever touch ~/.abq. NODE_EXTRA_CA_CERTS is dropped too: with it every Node start parses the
 * whole certificate bundle (+40–50 ms on this VM, for `node -e 0` and abq alike), a cost of the machine,
 * not of abq, that would dilute every start-up ratio towards 1 (docs/performance.md).
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("ABQ_") && k !== "NODE_EXTRA_CA_CERTS") env[k] = v;
  }
  return { ...env, ABQ_HOME: join(tmpdir(), "abq-bench-no-home"), ...extra };
}

const homes = new Set();
/** A fresh bus directory under the OS temp dir (a real disk here, so fsync is real). */
export function tmpHome(tag = "bus") {
  const home = mkdtempSync(join(tmpdir(), `abq-bench-${tag}-`));
  homes.add(home);
  return home;
}
export function cleanup(home) {
  rmSync(home, { recursive: true, force: true });
  homes.delete(home);
}
export function cleanupAll() {
  for (const h of [...homes]) cleanup(h);
}
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

/** Spawns a process, waits for it, returns { ms, code, stdout, stderr } (ms = spawn → exit). */
export function runTimed(cmd, args, { env, cwd = ROOT, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      env: env ?? cleanEnv(),
      cwd,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    if (input !== undefined) child.stdin.end(input);
    child.on("close", (code) => resolve({ ms: performance.now() - t0, code, stdout, stderr }));
  });
}

export const abq = (args, opts = {}) => runTimed(process.execPath, [CLI, ...args], opts);
export const nodeFloor = (opts = {}) => runTimed(process.execPath, ["-e", "0"], opts);

/**
 * Runs several commands interleaved (round-robin, after `warmup` untimed rounds), so drift in machine load
 * hits all of them alike. `cases` is { name: async () => ms }. Returns { name: [ms…] }.
 */
export async function interleave(cases, rounds, warmup = 2) {
  const out = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const ms = await fn();
      if (r >= warmup) out[name].push(ms);
    }
  }
  return out;
}

export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
export const median = (xs) => quantile(xs, 0.5);
export const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
export const summary = (xs) => ({
  n: xs.length,
  min: round(Math.min(...xs)),
  p50: round(median(xs)),
  p90: round(quantile(xs, 0.9)),
  max: round(Math.max(...xs)),
});

/** Asserts a CLI call succeeded; returns it. */
export async function abqOk(args, opts) {
  const r = await abq(args, opts);
  if (r.code !== 0) throw new Error(`abq ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/**
 * Fills `channel` with `n` pending messages through the library (fsync off, as ABQ_FSYNC=0 would), several
 * sends in flight at once. Returns the ids in send order.
 */
export async function fillPending(lib, home, channel, n, { content = "x", parallel = 32 } = {}) {
  const transport = new lib.FsTransport({ home, fsync: false, agent: "bench" });
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const m = await lib.send({ home, channel, type: "signal", content, transport, fsync: false, cwd: ROOT });
      ids.push(m.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  await transport.close();
  return ids;
}

export function countDir(dir) {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith(".")).length;
  } catch {
    return 0;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wall-clock now in ms with sub-ms resolution (comparable across processes, like `date +%s%N`). */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Standard result shape of one figure. */
export function result(figure, { value, unit = "×", target, pass, display, details = {}, note }) {
  return { figure, value: round(value, 3), unit, target, pass, display, details, ...(note ? { note } : {}) };
}

/** Runs a figure's main() when the file is executed directly, printing its JSON. */
export async function runDirect(importMetaUrl, main) {
  if (process.argv[1] && pathToFileURL(process.argv[1]).href === importMetaUrl) {
    try {
      const r = await main();
      console.log(JSON.stringify(r, null, 2));
    } finally {
      cleanupAll();
    }
  }
}

/**
 * Writes `n` pending messages straight into `channel`'s requests/ in the wire format, byte for byte what
 * `deliver` writes with fsync off (stage in tmp/, rename), but synchronously: ~10× faster than library
 * sends, which matters for the 100 k backlogs. Ids come from the library's newId, so they sort by time.
 */
export function seedPending(lib, home, channel, n, { content = "x" } = {}) {
  const dir = join(home, "channels", channel);
  const base = {
    version: lib.PROTOCOL_VERSION,
    type: "signal",
    from: { agent: "bench/seed", pid: process.pid, pwd: ROOT },
    to: channel,
    content,
    timestamp: lib.formatTimestamp(),
    ttl: 86400,
  };
  for (let i = 0; i < n; i++) {
    const id = lib.newId();
    const tmp = join(dir, "tmp", `${id}.json.seed.tmp`);
    writeFileSync(tmp, `${JSON.stringify({ id, ...base }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, join(dir, "requests", `${id}.json`));
  }
}
