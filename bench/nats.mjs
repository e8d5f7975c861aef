// Issue 6's figure inside `npm run bench`: abq over NATS JetStream vs the raw @nats-io client, cycles/s in
// the same run (nats-throughput.mjs starts its own nats-server). Target (issue 18): ≥ 0.75×.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { QUICK, result, runDirect } from "./lib.mjs";

function hasServer() {
  return [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/bin"].some(
    (d) => d !== "" && existsSync(join(d, "nats-server")),
  );
}

export async function run() {
  const figure = "JetStream send→claim→respond vs raw client";
  if (!hasServer()) {
    return [result(figure, { value: NaN, target: "≥ 0.75×", pass: null, display: "n/a: nats-server not installed" })];
  }
  const cycles = QUICK ? "100" : "500";
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "nats-throughput.mjs"), cycles], {
      env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
  const ratio = Number(/ratio abq\/raw\s*:\s*([\d.]+)×/.exec(out)?.[1] ?? NaN);
  const raw = /raw @nats-io client : (\d+)/.exec(out)?.[1] ?? "?";
  const abq = /abq over JetStream {2}: (\d+)/.exec(out)?.[1] ?? "?";
  return [
    result(figure, {
      value: ratio,
      target: "≥ 0.75×",
      pass: Number.isFinite(ratio) ? ratio >= 0.75 : false,
      display: Number.isFinite(ratio) ? `${ratio.toFixed(2)}× (${abq} vs ${raw}/s)` : "error: no ratio in output",
      details: { output: out },
    }),
  ];
}

await runDirect(import.meta.url, run);
