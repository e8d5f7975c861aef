// B1: `abq send` wall time per call (built CLI, spawned and awaited) vs a bare `node -e 0`, interleaved
// with the floor of a send (bench/floor-send.cjs: the same file operations in plain Node, nothing else
// loaded). Target (issue 18): ≤ 1.10× node -e 0. The floor row says how much of the gap the disk owns.
import { join } from "node:path";
import {
  ROOT,
  runTimed,
  abqOk,
  cleanEnv,
  cleanup,
  interleave,
  loadLib,
  median,
  nodeFloor,
  pick,
  result,
  runDirect,
  summary,
  tmpHome,
  abq,
} from "./lib.mjs";

const FLOOR = join(ROOT, "bench", "floor-send.cjs");

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("b1");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "b1" });
    const env = cleanEnv({ ABQ_HOME: home });
    const rounds = pick(30, 12);
    let failures = 0;
    const times = await interleave(
      {
        node: async () => (await nodeFloor({ env })).ms,
        floor: async () => {
          const r = await runTimed(process.execPath, [FLOOR, "b1", "signal", "hello"], { env });
          if (r.code !== 0) failures++;
          return r.ms;
        },
        send: async () => {
          const r = await abq(["send", "b1", "signal", "hello"], { env });
          if (r.code !== 0) failures++;
          return r.ms;
        },
      },
      rounds,
    );
    if (failures > 0) throw new Error(`${failures} floor or abq send calls failed`);
    await abqOk(["status"], { env }); // sanity: the bus is still readable
    const ratio = median(times.send) / median(times.node);
    const floorRatio = median(times.floor) / median(times.node);
    return [
      result("B1 abq send / node -e 0", {
        value: ratio,
        target: "≤ 1.10×",
        pass: ratio <= 1.1,
        display: `${ratio.toFixed(2)}× (${median(times.send).toFixed(1)} vs ${median(times.node).toFixed(1)} ms)`,
        details: {
          rounds,
          node_ms: summary(times.node),
          send_ms: summary(times.send),
          floor_send_ms: summary(times.floor),
        },
      }),
      result("B1 floor: durable send in plain Node / node -e 0", {
        value: floorRatio,
        display: `${floorRatio.toFixed(2)}× (${median(times.floor).toFixed(1)} ms; abq send is ${(median(times.send) / median(times.floor)).toFixed(2)}× it)`,
        details: { floor_send_ms: summary(times.floor) },
        note: "measured floor, no target",
      }),
    ];
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
