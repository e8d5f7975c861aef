// B2: `abq recv`, `abq status` (10 channels) and `abq --help` wall time vs `node -e 0`, interleaved.
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
  runDirect,
  seedPending,
  summary,
  tmpHome,
} from "./lib.mjs";

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("b2");
  try {
    await lib.init({ home }); // makes `broadcast`: with q and c1…c8 that is 10 channels
    const rounds = pick(30, 10);
    await lib.createChannel({ home, name: "q" });
    seedPending(lib, home, "q", rounds + 10);
    for (let i = 1; i <= 8; i++) {
      await lib.createChannel({ home, name: `c${i}` });
      seedPending(lib, home, `c${i}`, 5);
    }
    const channels = (await lib.listChannels({ home })).length;
    const env = cleanEnv({ ABQ_HOME: home });
    const bad = [];
    const timed =
      (args, ok = [0]) =>
      async () => {
        const r = await abq(args, { env });
        if (!ok.includes(r.code)) bad.push(`${args.join(" ")}: exit ${r.code} ${r.stderr.trim()}`);
        return r.ms;
      };
    const times = await interleave(
      {
        node: async () => (await nodeFloor({ env })).ms,
        recv: timed(["recv", "q"]),
        status: timed(["status"]),
        help: timed(["--help"]),
      },
      rounds,
    );
    if (bad.length > 0) throw new Error(`CLI failures: ${bad.slice(0, 3).join("; ")}`);
    const floor = median(times.node);
    return ["recv", "status", "help"].map((name) => {
      const ratio = median(times[name]) / floor;
      const label = name === "help" ? "abq --help" : name === "status" ? `abq status (${channels} ch)` : "abq recv";
      return result(`B2 ${label} / node -e 0`, {
        value: ratio,
        target: "≤ 1.4×",
        pass: ratio <= 1.4,
        display: `${ratio.toFixed(2)}× (${median(times[name]).toFixed(1)} vs ${floor.toFixed(1)} ms)`,
        details: { rounds, channels, node_ms: summary(times.node), [`${name}_ms`]: summary(times[name]) },
      });
    });
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
