// B12: `abq search` wall time on 100 k archived (answered) messages in one channel: a text filter that
// matches one message (every answer read too) and a sender filter. Three runs each, median reported. No
// index backs search (src/api/search.ts); this figure says whether one is needed (target: under 2 s).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { abq, cleanEnv, cleanup, loadLib, median, pick, result, round, runDirect, summary, tmpHome } from "./lib.mjs";

const RUNS = 3;

export async function run() {
  const lib = await loadLib();
  const n = pick(100_000, 5_000);
  const home = tmpHome("b12");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "big" });
    seedArchived(lib, home, "big", n);
    const env = cleanEnv({ ABQ_HOME: home });
    const times = { text: [], from: [] };
    const cases = { text: ["--text", "needle-in-haystack"], from: ["--from", "api/rare", "--json"] };
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of Object.entries(cases)) {
        const r = await abq(["search", ...args], { env });
        if (r.code !== 0 || r.stdout.trim().split("\n").length !== 1) {
          throw new Error(`abq search ${args.join(" ")}: exit ${r.code}, ${r.stdout.slice(0, 200)} ${r.stderr.trim()}`);
        }
        times[name].push(r.ms);
      }
    }
    const worst = Math.max(median(times.text), median(times.from));
    return [
      result(`B12 abq search, ${n / 1000}k archived`, {
        value: worst,
        unit: "ms",
        target: "≤ 2000 ms (else an index)",
        pass: worst <= 2000,
        display: `--text ${median(times.text).toFixed(0)} ms, --from ${median(times.from).toFixed(0)} ms`,
        details: {
          archived: n,
          text_ms: summary(times.text),
          from_ms: summary(times.from),
          per_message_us: round((worst * 1000) / n),
        },
      }),
    ];
  } finally {
    cleanup(home);
  }
}

/**
 * Writes `n` answered messages straight into `channel`'s archive/ (archive/<id>_request.json beside
 * <id>_response.json, as respond and ask leave them), one of them with a rare word and a rare sender.
 */
export function seedArchived(lib, home, channel, n) {
  const dir = join(home, "channels", channel);
  mkdirSync(join(dir, "archive"), { recursive: true });
  const rare = Math.floor(n / 2);
  for (let i = 0; i < n; i++) {
    const id = lib.newId();
    const timestamp = lib.formatTimestamp();
    const agent = i === rare ? "bench.host/org/api/rare" : "bench.host/org/api/main";
    const request = {
      id,
      version: lib.PROTOCOL_VERSION,
      type: "command",
      from: { agent, pid: process.pid, pwd: "/bench" },
      to: channel,
      content: i === rare ? "find the needle-in-haystack here" : `routine job ${i}: build, test, report`,
      timestamp,
      ttl: 0,
    };
    const response = {
      id,
      version: lib.PROTOCOL_VERSION,
      status: "success",
      from: { agent: "bench.host/org/worker/main", pid: process.pid },
      result: `done ${i}`,
      error: null,
      timestamp,
    };
    write(dir, `${id}_request.json`, request);
    write(dir, `${id}_response.json`, response);
  }
}

function write(dir, name, value) {
  const tmp = join(dir, "tmp", `${name}.seed.tmp`);
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dir, "archive", name));
}

await runDirect(import.meta.url, run);
