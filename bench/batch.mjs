// `abq send --batch`: NDJSON on stdin, one message per line, one process, in messages/s. Target (issue 18):
// ≥ 3000 msg/s durable (fsync on: one fsync round per chunk, not per message); ABQ_FSYNC=0 is reported. The flag is probed from `abq send --help`; its exact argument shape is discovered by trying the
// plausible forms on a 3-line batch and checking that exactly 3 messages landed. Its floor, the same file
// work in plain Node (bench/floor-batch.cjs), runs right after it on a channel of its own: this disk's
// fsync rate moves 2–3× from hour to hour, so the rate alone does not say whose the time is.
import { join } from "node:path";
import {
  abq,
  cleanEnv,
  cleanup,
  countDir,
  loadLib,
  pick,
  result,
  ROOT,
  round,
  runDirect,
  runTimed,
  tmpHome,
} from "./lib.mjs";

const FORMS = [
  { args: (ch) => ["send", ch, "--batch"], line: (i) => ({ type: "signal", content: `m${i}` }) },
  { args: (ch) => ["send", "--batch", ch], line: (i) => ({ type: "signal", content: `m${i}` }) },
  { args: (ch) => ["send", ch, "signal", "--batch"], line: (i) => ({ content: `m${i}` }) },
  { args: () => ["send", "--batch"], line: (i, ch) => ({ channel: ch, type: "signal", content: `m${i}` }) },
  { args: () => ["send", "--batch"], line: (i, ch) => ({ to: ch, type: "signal", content: `m${i}` }) },
];

/** Durable messages per second a batch must reach (issue 18). */
const TARGET = 3000;

const ndjson = (form, n, ch) => Array.from({ length: n }, (_, i) => JSON.stringify(form.line(i, ch))).join("\n") + "\n";

export async function run() {
  const help = await abq(["send", "--help"]);
  if (!help.stdout.includes("--batch")) {
    return [
      result("send --batch msgs/s", {
        value: NaN,
        unit: "msg/s",
        target: "(report)",
        pass: null,
        display: "n/a: send --batch not implemented",
      }),
    ];
  }
  const lib = await loadLib();
  const home = tmpHome("batch");
  try {
    await lib.init({ home });
    const env = cleanEnv({ ABQ_HOME: home });
    let form;
    const tried = [];
    for (const [k, f] of FORMS.entries()) {
      const ch = `probe${k}`;
      await lib.createChannel({ home, name: ch });
      const r = await abq(f.args(ch), { env, input: ndjson(f, 3, ch) });
      const landed = countDir(join(home, "channels", ch, "requests"));
      tried.push(
        `${f.args(ch).join(" ")} → exit ${r.code}, ${landed} sent${r.code ? `: ${r.stderr.trim().slice(0, 120)}` : ""}`,
      );
      if (r.code === 0 && landed === 3) {
        form = f;
        break;
      }
    }
    if (!form) {
      return [
        result("send --batch msgs/s", {
          value: NaN,
          unit: "msg/s",
          target: "(report)",
          pass: null,
          display: `error: --batch exists but failed (${tried[0]})`,
          details: { tried },
        }),
      ];
    }
    const n = pick(10_000, 1_000);
    const out = {};
    for (const fsync of [true, false]) {
      const ch = fsync ? "bulk" : "bulknosync";
      await lib.createChannel({ home, name: ch });
      const r = await abq(form.args(ch), { env: fsync ? env : { ...env, ABQ_FSYNC: "0" }, input: ndjson(form, n, ch) });
      const landed = countDir(join(home, "channels", ch, "requests"));
      if (r.code !== 0 || landed !== n)
        throw new Error(`--batch of ${n}: exit ${r.code}, ${landed} landed: ${r.stderr.trim().slice(0, 200)}`);
      out[fsync ? "fsync_on" : "fsync_off"] = { n, ms: round(r.ms), msgs_per_s: round((n / r.ms) * 1000, 0) };
    }
    await lib.createChannel({ home, name: "floor" });
    const floorDir = join(home, "channels", "floor");
    const f = await runTimed(process.execPath, [join(ROOT, "bench", "floor-batch.cjs"), floorDir, String(n)], {
      env: cleanEnv({ UV_THREADPOOL_SIZE: "32" }),
    });
    if (f.code !== 0 || f.stdout.trim() !== String(n) || countDir(join(floorDir, "requests")) !== n)
      throw new Error(`floor-batch: exit ${f.code}: ${f.stdout}${f.stderr}`);
    const floorRate = round((n / f.ms) * 1000, 0);
    const rate = out.fsync_on.msgs_per_s;
    return [
      result("send --batch msgs/s", {
        value: rate,
        unit: "msg/s",
        target: `≥ ${TARGET} msg/s (fsync on)`,
        pass: rate >= TARGET,
        display: `${rate.toFixed(0)} msg/s (ABQ_FSYNC=0: ${out.fsync_off.msgs_per_s.toFixed(0)}); floor ${floorRate.toFixed(0)} msg/s`,
        details: { form: form.args("<ch>").join(" "), ...out, floor: { n, ms: round(f.ms), msgs_per_s: floorRate } },
        note: "floor: the same staging, fsyncs and renames in plain Node (bench/floor-batch.cjs)",
      }),
    ];
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
