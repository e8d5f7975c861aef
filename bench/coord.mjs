// B13: coordination on the file spool, through the built library. KV: sequential sets (each a
// compare-and-set put: two renames and two fsyncs) and gets per second, and the same sets with
// ABQ_FSYNC=0. Locks: the latency of one acquire + release of a free lock, and under contention (4
// processes taking one lock in turn; the time from asking to holding). No target: these are figures to
// watch (a CLI call costs ~60 ms, far more than any of them).
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, LIB, loadLib, median, pick, quantile, result, round, runDirect, summary, tmpHome } from "./lib.mjs";

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("b13");
  try {
    const n = pick(2000, 200);
    const sets = await timed(n, (i) => lib.kvSet({ home, bucket: "bench", key: `k${i % 50}`, value: `v${i}` }));
    const setsNoSync = await timed(n, (i) =>
      lib.kvSet({ home, bucket: "bench", key: `k${i % 50}`, value: `v${i}`, fsync: false }),
    );
    const gets = await timed(n, (i) => lib.kvGet({ home, bucket: "bench", key: `k${i % 50}` }));
    const lockMs = [];
    for (let i = 0; i < pick(500, 100); i++) {
      const t0 = performance.now();
      const hold = await lib.acquireLock({ home, name: "solo" });
      await lib.releaseLock({ home, name: "solo", token: hold.token });
      lockMs.push(performance.now() - t0);
    }
    const contended = await contention(home, pick(4, 4), pick(100, 25));
    const perS = (r) => round(r.count / (r.ms / 1000), 0);
    return [
      result("B13 kv set/s (fsync)", {
        value: perS(sets),
        unit: "ops/s",
        target: "—",
        pass: null,
        display: `${perS(sets)} set/s, ${perS(setsNoSync)} without fsync, ${perS(gets)} get/s`,
        details: { n, set_per_s: perS(sets), set_nofsync_per_s: perS(setsNoSync), get_per_s: perS(gets) },
      }),
      result("B13 lock acquire+release", {
        value: median(lockMs),
        unit: "ms",
        target: "—",
        pass: null,
        display:
          `${median(lockMs).toFixed(2)} ms median free (p99 ${quantile(lockMs, 0.99).toFixed(2)}); ` +
          `contended ×4: wait ${median(contended).toFixed(1)} ms median, p99 ${quantile(contended, 0.99).toFixed(1)}`,
        details: { free_ms: summary(lockMs), contended_wait_ms: summary(contended) },
      }),
    ];
  } finally {
    cleanup(home);
  }
}

async function timed(count, fn) {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await fn(i);
  return { count, ms: performance.now() - t0 };
}

/** `procs` processes each take the lock `rounds` times (holding it ~1 ms); returns every wait in ms. */
async function contention(home, procs, rounds) {
  const script = join(home, "contend.mjs");
  writeFileSync(
    script,
    `import { pathToFileURL } from "node:url";
const { acquireLock, releaseLock } = await import(pathToFileURL(${JSON.stringify(LIB)}).href);
const waits = [];
for (let i = 0; i < ${rounds}; i++) {
  const t0 = performance.now();
  const hold = await acquireLock({ home: ${JSON.stringify(home)}, name: "busy", wait: 60 });
  waits.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 1));
  await releaseLock({ home: ${JSON.stringify(home)}, name: "busy", token: hold.token });
}
process.stdout.write(JSON.stringify(waits));`,
  );
  const outs = await Promise.all(
    Array.from(
      { length: procs },
      () =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d) => (out += d));
          child.on("error", reject);
          child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`))));
        }),
    ),
  );
  return outs.flat();
}

await runDirect(import.meta.url, run);
