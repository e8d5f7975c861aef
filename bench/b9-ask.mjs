// B9: `abq ask` round trip to a channel served by `abq watch` (handler: echo), median, as a ratio to
// `abq send`'s median measured interleaved in the same run (B1's quantity).
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
  summary,
  tmpHome,
} from "./lib.mjs";
import { startWatch } from "./b4-watch-latency.mjs";

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("b9");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "svc" });
    await lib.createChannel({ home, name: "sink" });
    const w = startWatch(home, ["svc", "-H", "echo pong"]);
    await w.started;
    const env = cleanEnv({ ABQ_HOME: home });
    const bad = [];
    const timed = (args) => async () => {
      const r = await abq(args, { env });
      if (r.code !== 0) bad.push(`${args[0]}: exit ${r.code} ${r.stderr.trim()}`);
      return r.ms;
    };
    try {
      const times = await interleave(
        {
          node: async () => (await nodeFloor({ env })).ms,
          send: timed(["send", "sink", "signal", "hello"]),
          ask: timed(["ask", "svc", "command", "ping", "--timeout", "20"]),
        },
        pick(20, 8),
      );
      if (bad.length > 0) throw new Error(`CLI failures: ${bad.slice(0, 3).join("; ")}`);
      const ratio = median(times.ask) / median(times.send);
      return [
        result("B9 abq ask round trip / abq send", {
          value: ratio,
          target: "≤ 2×",
          pass: ratio <= 2,
          display: `${ratio.toFixed(2)}× (${median(times.ask).toFixed(0)} vs ${median(times.send).toFixed(0)} ms)`,
          details: {
            node_ms: summary(times.node),
            send_ms: summary(times.send),
            ask_ms: summary(times.ask),
            ask_minus_send_ms: round(median(times.ask) - median(times.send)),
          },
        }),
      ];
    } finally {
      await w.stop();
    }
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
