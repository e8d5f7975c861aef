// B1: `abq send` wall time per call (built CLI, spawned and awaited) vs a bare `node -e 0`, interleaved.
import {
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
        send: async () => {
          const r = await abq(["send", "b1", "signal", "hello"], { env });
          if (r.code !== 0) failures++;
          return r.ms;
        },
      },
      rounds,
    );
    if (failures > 0) throw new Error(`${failures} abq send calls failed`);
    await abqOk(["status"], { env }); // sanity: the bus is still readable
    const ratio = median(times.send) / median(times.node);
    return [
      result("B1 abq send / node -e 0", {
        value: ratio,
        target: "≤ 1.3×",
        pass: ratio <= 1.3,
        display: `${ratio.toFixed(2)}× (${median(times.send).toFixed(1)} vs ${median(times.node).toFixed(1)} ms)`,
        details: { rounds, node_ms: summary(times.node), send_ms: summary(times.send), floor_ms: median(times.node) },
      }),
    ];
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
