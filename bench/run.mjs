// Runs every figure of the benchmark (issue 5), prints a table and writes bench/results/latest.json.
//   node bench/run.mjs            full run (~6–8 min on a 2-core VM)
//   node bench/run.mjs --quick    smaller counts, fewer repetitions (< 1 min); pass/miss is indicative only
//   node bench/run.mjs B1 B4      only the figures whose id starts with one of these
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { cleanupAll, QUICK, ROOT } from "./lib.mjs";

const FIGURES = [
  ["B1", "./b1-send.mjs"],
  ["B2", "./b2-cli.mjs"],
  ["B3", "./b3-cycle.mjs"],
  ["B4", "./b4-watch-latency.mjs"],
  ["B5", "./b5-poll-latency.mjs"],
  ["B6", "./b6-backlog.mjs"],
  ["B7", "./b7-status-backlog.mjs"],
  ["B8", "./b8-competing.mjs"],
  ["B9", "./b9-ask.mjs"],
  ["B10", "./b10-rss.mjs"],
  ["B11", "./b11-fanout.mjs"],
  ["B12", "./search.mjs"],
  ["B13", "./coord.mjs"],
  ["B14", "./attach.mjs"],
  ["batch", "./batch.mjs"],
  ["bulk", "./bulk.mjs"],
  ["MCP", "./mcp.mjs"],
  ["NATS", "./nats.mjs"],
];

const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const selected = FIGURES.filter(([id]) => only.length === 0 || only.some((o) => id.toLowerCase() === o.toLowerCase()));

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memory_gb: Math.round(totalmem() / 2 ** 30),
  os: `${process.platform} ${release()}`,
  node: process.version,
  loadavg_start: loadavg().map((x) => Math.round(x * 100) / 100),
};
const started = new Date();
const t0 = performance.now();
console.log(
  `abq bench${QUICK ? " --quick (counts scaled down: 100k → 5k (3k for B6), 10k → 150 (full: 4k), 1000 → 100 and 300 → 25 latency samples; fewer rounds)" : ""}`,
);
console.log(
  `${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB, ${machine.os}, Node ${machine.node}, load ${machine.loadavg_start.join(" ")}\n`,
);

const results = [];
for (const [id, file] of selected) {
  const ft = performance.now();
  process.stdout.write(`${id} … `);
  try {
    const mod = await import(file);
    const rows = await mod.run();
    for (const r of rows) results.push({ id, seconds: Math.round((performance.now() - ft) / 100) / 10, ...r });
    console.log(`${((performance.now() - ft) / 1000).toFixed(1)} s`);
  } catch (err) {
    results.push({
      id,
      figure: id,
      value: null,
      display: `error: ${err instanceof Error ? err.message : String(err)}`,
      pass: false,
      target: "",
    });
    console.log(`error: ${err instanceof Error ? err.stack : String(err)}`);
  }
}
cleanupAll();
const seconds = (performance.now() - t0) / 1000;

const rows = [["figure", "measured", "target", "result"]];
for (const r of results)
  rows.push([
    r.figure,
    r.display,
    r.target ?? "",
    r.pass === null || r.pass === undefined ? "—" : r.pass ? "pass" : "MISS",
  ]);
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
console.log("");
for (const [i, row] of rows.entries()) {
  console.log(
    row
      .map((cell, c) => String(cell).padEnd(widths[c]))
      .join("  ")
      .trimEnd(),
  );
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
const misses = results.filter((r) => r.pass === false).length;
console.log(
  `\n${results.length} rows, ${misses} missed; ${seconds.toFixed(0)} s${QUICK ? " (quick: scaled-down counts)" : ""}`,
);

const out = {
  quick: QUICK,
  started: started.toISOString(),
  seconds: Math.round(seconds),
  machine: { ...machine, loadavg_end: loadavg().map((x) => Math.round(x * 100) / 100) },
  results,
};
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
// latest.json is always the last run (its "quick" field says which kind); a copy per kind survives the other.
for (const name of ["latest.json", QUICK ? "latest-quick.json" : "latest-full.json"]) {
  writeFileSync(join(ROOT, "bench", "results", name), `${JSON.stringify(out, null, 2)}\n`);
}
console.log(`results: bench/results/latest.json`);
