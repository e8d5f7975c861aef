// B8: 4 competing `abq watch` processes vs 1 on the same backlog, trivial handler (`true`): throughput
// ratio, and how many messages were handled more than once (must be 0). Each watcher reports what it
// handled as NDJSON; throughput counts from spawning the watchers to the last message handled.
import { join } from "node:path";
import { cleanup, countDir, loadLib, pick, result, round, runDirect, seedPending, sleep, tmpHome } from "./lib.mjs";
import { startWatch } from "./b4-watch-latency.mjs";

export async function competing(lib, n, watchers, fsync) {
  const home = tmpHome(`b8w${watchers}`);
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "work" });
    seedPending(lib, home, "work", n);
    const seen = new Map();
    let handled = 0;
    let lastAt = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    const t0 = performance.now();
    const ws = Array.from({ length: watchers }, () =>
      startWatch(home, ["work", "-H", "true"], { env: fsync ? {} : { ABQ_FSYNC: "0" } }),
    );
    for (const w of ws) {
      w.on((ev) => {
        if (ev.type !== "handled") return;
        seen.set(ev.id, (seen.get(ev.id) ?? 0) + 1);
        handled++;
        lastAt = ev.at;
        if (seen.size >= n) done();
      });
    }
    let timer;
    const timeout = new Promise((r) => (timer = setTimeout(() => r("timeout"), Math.max(60_000, n * 60))));
    const exited = ws.map((w) => w.exited.then((code) => `a watcher exited (${code}): ${w.stderr.trim().slice(-300)}`));
    const how = await Promise.race([finished.then(() => "done"), timeout, ...exited]);
    clearTimeout(timer);
    await sleep(200); // let any late duplicate event arrive
    await Promise.all(ws.map((w) => w.stop()));
    const dir = join(home, "channels", "work");
    const archived = countDir(join(dir, "archive")) / 2; // <id>_request.json + nothing else expected… counted below
    const ms = lastAt - t0;
    return {
      watchers,
      n,
      fsync,
      outcome: how,
      handled_events: handled,
      unique: seen.size,
      duplicates: handled - seen.size,
      ms: round(ms),
      per_s: round((seen.size / ms) * 1000, 1),
      left_pending: countDir(join(dir, "requests")),
      left_claimed: countDir(join(dir, "processing")),
      archive_files: archived * 2,
    };
  } finally {
    cleanup(home);
  }
}

export async function run() {
  const lib = await loadLib();
  // 10 k as the issue asks would take ~4 min for the single watcher alone on this 2-core VM (~45 msgs/s),
  // which with the rest breaks the 10-minute budget; the figure is a ratio of steady rates, so 4 k is used
  // by default. BENCH_B8_N=10000 runs the full count.
  const n = Number(process.env.BENCH_B8_N ?? pick(4_000, 150));
  const one = await competing(lib, n, 1, true);
  const four = await competing(lib, n, 4, true);
  const ratio = four.per_s / one.per_s;
  const dups = one.duplicates + four.duplicates;
  return [
    result(`B8 4 vs 1 watchers, ${n / 1000}k msgs: speed-up; duplicates`, {
      value: ratio,
      target: "≥ 1.0×; 0",
      pass: ratio >= 1.0 && dups === 0 && one.unique === n && four.unique === n,
      display: `${ratio.toFixed(2)}× (${four.per_s} vs ${one.per_s}/s); ${dups} dup`,
      details: { one, four },
    }),
  ];
}

await runDirect(import.meta.url, run);
