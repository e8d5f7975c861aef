// B4 / B5: send → handler-start latency through `abq watch` (file events, or --poll 100).
// The bench sends from this process (library, default durability) with a wall-clock timestamp (µs) in
// the content; the handler appends "<content> <date +%s%N>" to a log. Latency = handler time − send call
// time (it includes the send itself, the wake-up, the claim and spawning the handler's shell). B4 times a
// minimal durable watcher (bench/floor-watch.cjs) on the same sends, alternating, as its floor.
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

export function startWatch(home, args, { json = true, env = {}, argv } = {}) {
  const child = spawn(process.execPath, argv ?? [CLI, "watch", ...args, ...(json ? ["--json"] : [])], {
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

/** Handler start times from a handler log ("<seq> <send time> <ns>" lines), by sequence number. */
function readLog(log) {
  const got = new Map();
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
  return got;
}

/** A running watcher, counting its "handled" events. */
function tracked(w, channel, log) {
  const t = { w, channel, log, handled: 0, wake: undefined, sentAt: [], deliveredAt: [] };
  w.on((ev) => {
    if (ev.type !== "handled") return;
    t.handled++;
    t.wake?.();
  });
  t.waitHandled = (k) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 10000);
      const check = () => {
        if (t.handled < k) return;
        clearTimeout(timer);
        resolve(true);
      };
      t.wake = check;
      check();
    });
  return t;
}

export async function latency({ poll }) {
  const lib = await loadLib();
  const home = tmpHome(poll ? "b5" : "b4");
  // --poll: each message waits ~1.5 poll periods on average (gap + latency), and abq and the floor take
  // turns, so 300 keep B5 near 2 min.
  const n = poll ? pick(300, 25) : pick(1000, 100);
  // Each message is sent after the previous one was handled (the watcher's "handled" event), plus a gap,
  // so it is measured on its own (no queueing) and, with --poll, at some phase of the timer. The gaps
  // step through [min, max) by the golden ratio instead of at random: the phases then cover the poll
  // period evenly, and B5's median does not swing by ±4 ms from run to run with where 300 random phases
  // happened to fall (it measures the same thing: latency over a uniformly spread phase).
  const gap = poll ? [0, 2 * poll] : [1, 10];
  const handlerFor = (log) => `printf '%s %s\\n' "$ABQ_MSG_CONTENT" "$(date +%s%N)" >> '${log}'`;
  const watchers = [];
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "lat" });
    const log = join(home, "handler.log");
    const args = ["lat", "-H", handlerFor(log), ...(poll ? ["--poll", String(poll)] : [])];
    watchers.push(tracked(startWatch(home, args), "lat", log));
    // The floor (bench/floor-watch.cjs): a minimal durable watcher in plain Node, on a channel of its
    // own, fed by the same sends in alternation with abq's, so both see the same machine.
    await lib.createChannel({ home, name: "floor" });
    const flog = join(home, "floor.log");
    const argv = [join(ROOT, "bench", "floor-watch.cjs"), join(home, "channels", "floor"), handlerFor(flog)];
    if (poll) argv.push(String(poll));
    watchers.push(tracked(startWatch(home, [], { argv }), "floor", flog));
    for (const t of watchers) await t.w.started;
    await sleep(300);
    const transport = new lib.FsTransport({ home, agent: "bench" });
    for (let i = 0; i < n; i++) {
      const order = i % 2 === 0 ? watchers : [...watchers].reverse();
      for (const t of order) {
        const t0 = wallNow();
        const content = `${i} ${t0.toFixed(3)}`;
        await lib.send({ home, channel: t.channel, type: "signal", content, transport, cwd: ROOT });
        t.sentAt[i] = t0;
        t.deliveredAt[i] = wallNow();
        await t.waitHandled(i + 1);
        await sleep(gap[0] + ((i * 0.6180339887498949) % 1) * (gap[1] - gap[0]));
      }
    }
    const deadline = Date.now() + 30000;
    const got = new Map();
    for (const t of watchers) {
      for (;;) {
        got.set(t, readLog(t.log));
        if (got.get(t).size >= n || Date.now() > deadline) break;
        await sleep(100);
      }
    }
    await transport.close();
    for (const t of watchers) await t.w.stop();
    const dist = (xs) => ({
      p50: round(quantile(xs, 0.5)),
      p90: round(quantile(xs, 0.9)),
      p99: round(quantile(xs, 0.99)),
      max: round(Math.max(...xs)),
    });
    const figures = (t) => {
      const fromSend = [];
      const fromDelivered = [];
      for (const [seq, at] of got.get(t)) {
        fromSend.push(at - t.sentAt[seq]);
        fromDelivered.push(at - t.deliveredAt[seq]);
      }
      return {
        p50: quantile(fromSend, 0.5),
        p99: quantile(fromSend, 0.99),
        handled: got.get(t).size,
        details: {
          messages: n,
          handled: got.get(t).size,
          missing: n - got.get(t).size,
          send_gap_ms: gap,
          from_send_call_ms: dist(fromSend),
          from_delivered_ms: dist(fromDelivered),
          send_call_ms: dist(t.deliveredAt.map((d, i) => d - t.sentAt[i])),
        },
      };
    };
    const abq = figures(watchers[0]);
    const { p50, p99, details } = abq;
    const floor = figures(watchers[1]);
    const floorRow = (label) =>
      result(label, {
        value: floor.p50,
        unit: "ms",
        target: "measured",
        pass: floor.handled === n,
        display: `p50 ${floor.p50.toFixed(1)} / p99 ${floor.p99.toFixed(1)} ms`,
        details: floor.details,
      });
    if (poll) {
      return [
        result(`B5 watch --poll ${poll} latency p50`, {
          value: p50,
          unit: "ms",
          target: "p50 ≤ 55 ms",
          pass: p50 <= 55 && abq.handled === n,
          display: `p50 ${p50.toFixed(1)} ms (p99 ${p99.toFixed(1)}; floor p50 ${floor.p50.toFixed(1)})`,
          details: { ...details, floor: floor.details },
        }),
        floorRow(`B5 floor: a minimal durable watcher polling every ${poll} ms (bench/floor-watch.cjs)`),
      ];
    }
    return [
      result("B4 watch latency p50 / p99", {
        value: p50,
        unit: "ms",
        target: "p50 ≤ 10 / p99 ≤ 15 ms",
        pass: p50 <= 10 && p99 <= 15 && abq.handled === n,
        display: `p50 ${p50.toFixed(1)} / p99 ${p99.toFixed(1)} ms (floor ${floor.p50.toFixed(1)} / ${floor.p99.toFixed(1)})`,
        details: { ...details, floor: floor.details },
      }),
      floorRow("B4 floor: a minimal durable watcher (bench/floor-watch.cjs)"),
    ];
  } finally {
    cleanup(home);
  }
}

export const run = () => latency({ poll: undefined });

await runDirect(import.meta.url, run);
