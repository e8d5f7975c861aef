// B10: peak RSS (VmHWM) of `abq watch` while it works through a 100 k backlog; the same watcher on an
// almost empty queue is measured too, so the backlog's share is visible.
import { readFileSync } from "node:fs";
import { cleanup, loadLib, pick, result, round, runDirect, seedPending, sleep, tmpHome } from "./lib.mjs";
import { startWatch } from "./b4-watch-latency.mjs";

function vm(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
  return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
}

async function peak(lib, n, seconds) {
  const home = tmpHome("b10");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "big" });
    seedPending(lib, home, "big", n);
    const w = startWatch(home, ["big", "-H", "true", "-j", "4"]);
    let handled = 0;
    w.on((ev) => ev.type === "handled" && handled++);
    await w.started;
    let last = { hwm: 0, rss: 0 };
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end && w.child.exitCode === null) {
      try {
        last = vm(w.child.pid);
      } catch {
        break;
      }
      await sleep(100);
    }
    await w.stop();
    return { n, handled, hwm_mb: last.hwm, rss_mb: last.rss };
  } finally {
    cleanup(home);
  }
}

export async function run() {
  const lib = await loadLib();
  const n = pick(100_000, 5_000);
  const secs = pick(8, 1.5);
  const big = await peak(lib, n, secs);
  const small = await peak(lib, 10, pick(2, 1));
  return [
    result(`B10 watch peak RSS, ${n / 1000}k backlog`, {
      value: big.hwm_mb,
      unit: "MB",
      target: "≤ 100 MB",
      pass: big.hwm_mb <= 100,
      display: `${big.hwm_mb.toFixed(1)} MB (empty queue: ${small.hwm_mb.toFixed(1)} MB)`,
      details: {
        backlog: { ...big, hwm_mb: round(big.hwm_mb), rss_mb: round(big.rss_mb), seconds: secs },
        small_queue: { ...small, hwm_mb: round(small.hwm_mb), rss_mb: round(small.rss_mb) },
      },
    }),
  ];
}

await runDirect(import.meta.url, run);
