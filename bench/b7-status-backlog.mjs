// B7: `abq status` wall time with 100 k pending in one channel, minus the `node -e 0` floor (interleaved;
// `abq status` on an empty bus is timed alongside to show how much of it is the backlog, and the floor of
// a status, bench/floor-status.cjs, on the same bus: how much of it is listing 100 000 names at all).
import { join } from "node:path";
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
  ROOT,
  runDirect,
  runTimed,
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
    const floor = async () => {
      const r = await runTimed(process.execPath, [join(ROOT, "bench", "floor-status.cjs")], {
        env: cleanEnv({ ABQ_HOME: big }),
      });
      if (r.code !== 0) bad.push(`floor-status: exit ${r.code}`);
      return r.ms;
    };
    const times = await interleave(
      { node: async () => (await nodeFloor()).ms, status: timed(big), statusEmpty: timed(empty), floor },
      pick(20, 6),
    );
    if (bad.length > 0) throw new Error(`abq status failed: ${bad[0]}`);
    const above = median(times.status) - median(times.node);
    const floorAbove = median(times.floor) - median(times.node);
    return [
      result(`B7 abq status, ${n / 1000}k pending, above floor`, {
        value: above,
        unit: "ms",
        target: "≤ 200 ms",
        pass: above <= 200,
        display: `+${above.toFixed(0)} ms (${median(times.status).toFixed(0)} vs ${median(times.node).toFixed(0)} ms; floor +${floorAbove.toFixed(0)})`,
        details: {
          pending: n,
          node_ms: summary(times.node),
          status_backlog_ms: summary(times.status),
          status_empty_ms: summary(times.statusEmpty),
          backlog_share_ms: round(median(times.status) - median(times.statusEmpty)),
          floor_status_ms: summary(times.floor),
        },
      }),
      result(`B7 floor: a status in plain Node (bench/floor-status.cjs), ${n / 1000}k pending, above node -e 0`, {
        value: floorAbove,
        unit: "ms",
        target: "measured",
        pass: true,
        display: `+${floorAbove.toFixed(0)} ms (abq status is +${(median(times.status) - median(times.floor)).toFixed(0)} ms above it)`,
        details: { floor_status_ms: summary(times.floor) },
      }),
    ];
  } finally {
    cleanup(big);
    cleanup(empty);
  }
}

await runDirect(import.meta.url, run);
