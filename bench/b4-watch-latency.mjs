// B4 / B5: send → handler-start latency through `abq watch` (file events, or --poll 100).
// The bench sends from this process (library, default durability) with a wall-clock timestamp (µs) in
// the content; the handler appends "<content> <date +%s%N>" to a log. Latency = handler time − send call
// time (it includes the send itself, the wake-up, the claim and spawning the handler's shell).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CLI,
  cleanEnv,
  cleanup,
  loadLib,
  pick,
  quantile,
  result,
  round,
  runDirect,
  ROOT,
  sleep,
  tmpHome,
  wallNow,
} from "./lib.mjs";

export function startWatch(home, args, { json = true, env = {} } = {}) {
  const child = spawn(process.execPath, [CLI, "watch", ...args, ...(json ? ["--json"] : [])], {
    env: cleanEnv({ ABQ_HOME: home, ...env }),
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const w = { child, lines: [], stderr: "", exited: new Promise((r) => child.on("close", (code) => r(code))) };
  let buf = "";
  const listeners = new Set();
  child.stdout.on("data", (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let ev;
      try {
        ev = JSON.parse(line);
      } catch {
        continue;
      }
      ev.at = performance.now();
      w.lines.push(ev);
      for (const l of listeners) l(ev);
    }
  });
  child.stderr.on("data", (d) => (w.stderr += d));
  w.on = (fn) => listeners.add(fn);
  w.started = new Promise((resolve, reject) => {
    w.on((ev) => ev.type === "started" && resolve(ev));
    w.exited.then((code) => reject(new Error(`watch exited ${code}: ${w.stderr.trim()}`)));
  });
  w.stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 15000);
    await w.exited;
    clearTimeout(t);
  };
  return w;
}

export async function latency({ poll }) {
  const lib = await loadLib();
  const home = tmpHome(poll ? "b5" : "b4");
  // --poll: each message waits ~1.5 poll periods on average (gap + latency), so 300 keep B5 near 1 min.
  const n = poll ? pick(300, 25) : pick(1000, 100);
  // Each message is sent after the previous one was handled (the watcher's "handled" event), plus a gap,
  // so it is measured on its own (no queueing) and, with --poll, at some phase of the timer. The gaps
  // step through [min, max) by the golden ratio instead of at random: the phases then cover the poll
  // period evenly, and B5's median does not swing by ±4 ms from run to run with where 300 random phases
  // happened to fall (it measures the same thing: latency over a uniformly spread phase).
  const gap = poll ? [0, 2 * poll] : [1, 10];
  const log = join(home, "handler.log");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "lat" });
    const handler = `printf '%s %s\\n' "$ABQ_MSG_CONTENT" "$(date +%s%N)" >> '${log}'`;
    const w = startWatch(home, ["lat", "-H", handler, ...(poll ? ["--poll", String(poll)] : [])]);
    await w.started;
    await sleep(300);
    const transport = new lib.FsTransport({ home, agent: "bench" });
    const sentAt = [];
    const deliveredAt = [];
    let handled = 0;
    let wakeHandled;
    w.on((ev) => {
      if (ev.type === "handled") {
        handled++;
        wakeHandled?.();
      }
    });
    const waitHandled = (k) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), 10000);
        const check = () => {
          if (handled < k) return;
          clearTimeout(timer);
          resolve(true);
        };
        wakeHandled = check;
        check();
      });
    for (let i = 0; i < n; i++) {
      const t0 = wallNow();
      await lib.send({ home, channel: "lat", type: "signal", content: `${i} ${t0.toFixed(3)}`, transport, cwd: ROOT });
      sentAt[i] = t0;
      deliveredAt[i] = wallNow();
      await waitHandled(i + 1);
      await sleep(gap[0] + ((i * 0.6180339887498949) % 1) * (gap[1] - gap[0]));
    }
    const deadline = Date.now() + 30000;
    let got = new Map();
    for (;;) {
      got = new Map();
      let text = "";
      try {
        text = readFileSync(log, "utf8");
      } catch {
        // no handler has run yet
      }
      for (const line of text.split("\n")) {
        const [seq, , ns] = line.split(" ");
        if (ns !== undefined) got.set(Number(seq), Number(BigInt(ns) / 1000n) / 1000);
      }
      if (got.size >= n || Date.now() > deadline) break;
      await sleep(100);
    }
    await transport.close();
    await w.stop();
    const fromSend = [];
    const fromDelivered = [];
    for (const [seq, at] of got) {
      fromSend.push(at - sentAt[seq]);
      fromDelivered.push(at - deliveredAt[seq]);
    }
    const p50 = quantile(fromSend, 0.5);
    const p99 = quantile(fromSend, 0.99);
    const dist = (xs) => ({
      p50: round(quantile(xs, 0.5)),
      p90: round(quantile(xs, 0.9)),
      p99: round(quantile(xs, 0.99)),
      max: round(Math.max(...xs)),
    });
    const details = {
      messages: n,
      handled: got.size,
      missing: n - got.size,
      send_gap_ms: gap,
      from_send_call_ms: dist(fromSend),
      from_delivered_ms: dist(fromDelivered),
      send_call_ms: dist(deliveredAt.map((d, i) => d - sentAt[i])),
    };
    if (poll) {
      return [
        result(`B5 watch --poll ${poll} latency p50`, {
          value: p50,
          unit: "ms",
          target: "p50 ≤ 55 ms",
          pass: p50 <= 55 && got.size === n,
          display: `p50 ${p50.toFixed(1)} ms (p99 ${p99.toFixed(1)})`,
          details,
        }),
      ];
    }
    return [
      result("B4 watch latency p50 / p99", {
        value: p50,
        unit: "ms",
        target: "p50 ≤ 10 / p99 ≤ 15 ms",
        pass: p50 <= 10 && p99 <= 15 && got.size === n,
        display: `p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} ms`,
        details,
      }),
    ];
  } finally {
    cleanup(home);
  }
}

export const run = () => latency({ poll: undefined });

await runDirect(import.meta.url, run);
