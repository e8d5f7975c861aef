// B12: `abq search` wall time on 100 k archived (answered) messages in one channel, against the floor of
// reading the same files: `grep -rlF` of the same word over the channel's folder, interleaved in one run.
// A text filter that matches one message (every answer read too) and a sender filter. No index backs
// search (src/api/search.ts): the ratio says whether one is needed — search reads each file once, as grep
// does, and also parses and validates it, so a small multiple of grep is the most an index could save.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  abq,
  cleanEnv,
  cleanup,
  interleave,
  loadLib,
  median,
  pick,
  result,
  round,
  runDirect,
  runTimed,
  summary,
  tmpHome,
} from "./lib.mjs";

const RUNS = 3;
const TARGET = 3;

export async function run() {
  const lib = await loadLib();
  const n = pick(100_000, 5_000);
  const home = tmpHome("b12");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "big" });
    seedArchived(lib, home, "big", n);
    const env = cleanEnv({ ABQ_HOME: home });
    const folder = join(home, "channels", "big");
    const search = (args) => async () => {
      const r = await abq(["search", ...args], { env });
      if (r.code !== 0 || r.stdout.trim().split("\n").length !== 1) {
        throw new Error(`abq search ${args.join(" ")}: exit ${r.code}, ${r.stdout.slice(0, 200)} ${r.stderr.trim()}`);
      }
      return r.ms;
    };
    const grep = (word) => async () => {
      const r = await runTimed("grep", ["-rlF", word, "."], { cwd: folder });
      if (r.code !== 0) throw new Error(`grep -rlF ${word}: exit ${r.code} ${r.stderr.trim()}`);
      return r.ms;
    };
    const times = await interleave(
      {
        text: search(["--text", "needle-in-haystack"]),
        grep_text: grep("needle-in-haystack"),
        from: search(["--from", "api/rare", "--json"]),
        grep_from: grep("api/rare"),
      },
      RUNS,
      1,
    );
    const ratio = {
      text: median(times.text) / median(times.grep_text),
      from: median(times.from) / median(times.grep_from),
    };
    const worst = Math.max(ratio.text, ratio.from);
    return [
      result(`B12 abq search / grep -rlF, ${n / 1000}k archived`, {
        value: round(worst),
        unit: "×",
        target: `≤ ${TARGET}× (else an index)`,
        pass: worst <= TARGET,
        display:
          `--text ${median(times.text).toFixed(0)} ms (${ratio.text.toFixed(2)}×), ` +
          `--from ${median(times.from).toFixed(0)} ms (${ratio.from.toFixed(2)}×)`,
        details: {
          archived: n,
          text_ms: summary(times.text),
          grep_text_ms: summary(times.grep_text),
          from_ms: summary(times.from),
          grep_from_ms: summary(times.grep_from),
          per_message_us: round((Math.max(median(times.text), median(times.from)) * 1000) / n),
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
