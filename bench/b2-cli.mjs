// B2: `abq recv`, `abq status` (10 channels) and `abq --help` wall time vs `node -e 0`, interleaved, with
// the inbox hook, `abq check --inbox <ch> --inject`, on an empty inbox and on one with 5000 pending.
// Targets (issue 18): ≤ 1.15× for recv, status and --help; ≤ 1.10× for the hook. The floors of recv,
// status and the hook with mail (bench/floor-recv.cjs, floor-status.cjs, floor-check.cjs: the same file
// operations in plain Node, nothing else loaded) are timed alongside: they say how much the disk owns.
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
  ROOT,
  runDirect,
  runTimed,
  seedPending,
  summary,
  tmpHome,
} from "./lib.mjs";

/** Pending messages in the hook's full inbox (issue 18). */
const BACKLOG = 5000;

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("b2");
  const hookHome = tmpHome("b2-hook");
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
    // The hook's inboxes live on a bus of their own, so `status` above still shows 10 small channels.
    await lib.init({ home: hookHome });
    await lib.createChannel({ home: hookHome, name: "empty" });
    await lib.createChannel({ home: hookHome, name: "full" });
    seedPending(lib, hookHome, "full", BACKLOG);
    await lib.createChannel({ home: hookHome, name: "fq" }); // the recv floor's queue
    seedPending(lib, hookHome, "fq", rounds + 10);
    const env = cleanEnv({ ABQ_HOME: home });
    const hookEnv = cleanEnv({ ABQ_HOME: hookHome });
    const bad = [];
    const timed =
      (args, ok = [0], onBus = env) =>
      async () => {
        const r = await abq(args, { env: onBus });
        if (!ok.includes(r.code)) bad.push(`${args.join(" ")}: exit ${r.code} ${r.stderr.trim()}`);
        return r.ms;
      };
    const plain = (script, args, onBus) => async () => {
      const r = await runTimed(process.execPath, [join(ROOT, "bench", script), ...args], { env: onBus });
      if (r.code !== 0) bad.push(`${script}: exit ${r.code} ${r.stderr.trim()}`);
      return r.ms;
    };
    const times = await interleave(
      {
        node: async () => (await nodeFloor({ env })).ms,
        recv: timed(["recv", "q"]),
        status: timed(["status"]),
        help: timed(["--help"]),
        check_none: timed(["check", "--inbox", "empty", "--inject"], [0], hookEnv),
        check_full: timed(["check", "--inbox", "full", "--inject"], [0], hookEnv),
        floor_recv: plain("floor-recv.cjs", ["fq"], hookEnv),
        floor_status: plain("floor-status.cjs", [], env),
        floor_check: plain("floor-check.cjs", ["full"], hookEnv),
      },
      rounds,
    );
    if (bad.length > 0) throw new Error(`CLI failures: ${bad.slice(0, 3).join("; ")}`);
    const floor = median(times.node);
    const labels = {
      recv: "abq recv",
      status: `abq status (${channels} ch)`,
      help: "abq --help",
      check_none: "check --inbox --inject (no mail)",
      check_full: `check --inbox --inject (${BACKLOG} pending)`,
    };
    // Which measured floor each figure has, and what it does.
    const floors = {
      recv: ["floor_recv", "floor-recv.cjs", "durable claim"],
      status: ["floor_status", "floor-status.cjs", `status (${channels} ch)`],
      check_full: ["floor_check", "floor-check.cjs", `inbox hook (${BACKLOG} pending)`],
    };
    const rows = Object.entries(labels).map(([name, label]) => {
      const ratio = median(times[name]) / floor;
      const limit = name.startsWith("check") ? 1.1 : 1.15;
      return result(`B2 ${label} / node -e 0`, {
        value: ratio,
        target: `≤ ${limit.toFixed(2)}×`,
        pass: ratio <= limit,
        display: `${ratio.toFixed(2)}× (${median(times[name]).toFixed(1)} vs ${floor.toFixed(1)} ms)${name in floors ? `; floor ${(median(times[floors[name][0]]) / floor).toFixed(2)}×` : ""}`,
        details: { rounds, channels, node_ms: summary(times.node), [`${name}_ms`]: summary(times[name]) },
      });
    });
    for (const [name, [key, script, what]] of Object.entries(floors)) {
      const ratio = median(times[key]) / floor;
      rows.push(
        result(`B2 floor: ${what} in plain Node (bench/${script}) / node -e 0`, {
          value: ratio,
          display: `${ratio.toFixed(2)}× (${median(times[key]).toFixed(1)} ms; abq is ${(median(times[name]) / median(times[key])).toFixed(2)}× it)`,
          details: { [`${key}_ms`]: summary(times[key]) },
          note: "measured floor, no target",
        }),
      );
    }
    return rows;
  } finally {
    cleanup(home);
    cleanup(hookHome);
  }
}

await runDirect(import.meta.url, run);
