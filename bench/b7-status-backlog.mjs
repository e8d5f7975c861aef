// B7: `abq status` wall time with 100 k pending in one channel, minus the `node -e 0` floor (interleaved;
// `abq status` on an empty bus is timed alongside to show how much of it is the backlog).
import {
  abq,
  cleanEnv,
  cleanup,
  interleave,
  loadLib,
  median,
  nodeFloor,
  pick,
  result,
  round,
  runDirect,
  seedPending,
  summary,
  tmpHome,
} from "./lib.mjs";

export async function run() {
  const lib = await loadLib();
  const n = pick(100_000, 5_000);
  const big = tmpHome("b7");
  const empty = tmpHome("b7e");
  try {
    await lib.init({ home: big });
    await lib.createChannel({ home: big, name: "big" });
    seedPending(lib, big, "big", n);
    await lib.init({ home: empty });
    await lib.createChannel({ home: empty, name: "big" });
    const bad = [];
    const timed = (home) => async () => {
      const r = await abq(["status"], { env: cleanEnv({ ABQ_HOME: home }) });
      if (r.code !== 0) bad.push(r.stderr.trim());
      return r.ms;
    };
    const times = await interleave(
      { node: async () => (await nodeFloor()).ms, status: timed(big), statusEmpty: timed(empty) },
      pick(20, 6),
    );
    if (bad.length > 0) throw new Error(`abq status failed: ${bad[0]}`);
    const above = median(times.status) - median(times.node);
    return [
      result(`B7 abq status, ${n / 1000}k pending, above floor`, {
        value: above,
        unit: "ms",
        target: "≤ 200 ms",
        pass: above <= 200,
        display: `+${above.toFixed(0)} ms (${median(times.status).toFixed(0)} vs ${median(times.node).toFixed(0)} ms)`,
        details: {
          pending: n,
          node_ms: summary(times.node),
          status_backlog_ms: summary(times.status),
          status_empty_ms: summary(times.statusEmpty),
          backlog_share_ms: round(median(times.status) - median(times.statusEmpty)),
        },
      }),
    ];
  } finally {
    cleanup(big);
    cleanup(empty);
  }
}

await runDirect(import.meta.url, run);
