// B6: backlog scaling. Per-message cost of claiming every one of 1 k vs 100 k pending messages, in
// process with one FsTransport (its claim cursor carries the listing across calls). Backlogs are seeded in
// the wire format; claims run with fsync off so the figure shows the algorithmic cost, not the disk's.
import { cleanup, countDir, loadLib, median, pick, result, round, runDirect, seedPending, tmpHome } from "./lib.mjs";
import { join } from "node:path";

async function drain(lib, n) {
  const home = tmpHome("b6");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "q" });
    seedPending(lib, home, "q", n);
    const transport = new lib.FsTransport({ home, fsync: false, agent: "bench" });
    const t0 = performance.now();
    let claimed = 0;
    let first = 0;
    while (await transport.claim("q")) {
      if (claimed === 0) first = performance.now() - t0;
      claimed++;
    }
    const ms = performance.now() - t0;
    await transport.close();
    if (claimed !== n) throw new Error(`claimed ${claimed} of ${n}`);
    if (countDir(join(home, "channels", "q", "processing")) !== n) throw new Error("processing/ count is off");
    return { n, ms, perMsgUs: (ms / n) * 1000, firstClaimMs: first };
  } finally {
    cleanup(home);
  }
}

export async function run() {
  const lib = await loadLib();
  const bigN = pick(100_000, 3_000);
  await drain(lib, pick(200, 100)); // untimed warm-up: JIT and first-use costs would otherwise land on the first 1k drain
  const small = [];
  // small backlog three times around the big one (median), to keep drift out of the ratio
  small.push(await drain(lib, 1000));
  const big = await drain(lib, bigN);
  for (let i = 1; i < pick(3, 1); i++) small.push(await drain(lib, 1000));
  const smallUs = median(small.map((s) => s.perMsgUs));
  const ratio = big.perMsgUs / smallUs;
  return [
    result(`B6 claim cost/msg ${bigN / 1000}k vs 1k pending`, {
      value: ratio,
      target: "≤ 1.5×",
      pass: ratio <= 1.5,
      display: `${ratio.toFixed(2)}× (${big.perMsgUs.toFixed(0)} vs ${smallUs.toFixed(0)} µs/msg)`,
      details: {
        big: {
          n: big.n,
          total_ms: round(big.ms),
          per_msg_us: round(big.perMsgUs),
          first_claim_ms: round(big.firstClaimMs),
        },
        small_1k_per_msg_us: small.map((s) => round(s.perMsgUs)),
        small_1k_first_claim_ms: small.map((s) => round(s.firstClaimMs)),
        fsync: false,
      },
    }),
  ];
}

await runDirect(import.meta.url, run);
