// MCP: abq_send and abq_recv latency over stdio (issue 18), measured from the MCP SDK's own Client with a
// StdioClientTransport spawning `node dist/bin/abq.js mcp` (ABQ_HOME a temp dir), next to the floors the
// calls cannot beat, measured in the same run and interleaved with them:
//   - protocol floors: an MCP `ping` round trip to the same server (JSON-RPC over the pipes), and a
//     tools/call of a tool that does not exist (the SDK's tool-call path both ways, no bus work);
//   - disk floor of a send: what a durable delivery does with raw node:fs calls in this process (write a
//     staged file, fsync it, rename it into another folder, fsync that folder);
//   - disk floor of a claim: write a staged lease (no fsync), rename the message into processing/, fsync
//     that folder, rename the lease into place, read the message.
// Each is measured with fsync on (the default) and with ABQ_FSYNC=0 (the non-disk cost of a call).
//
// Two phases, sends then receives: phase 1 is N abq_send calls to one channel; phase 2 is N abq_recv
// calls on another channel seeded beforehand with N (+ warm-up) pending messages, so every recv claims one
// (none is finished: they stay claimed, as an agent's would until it answers). Within a phase, each round
// makes one call to every server and one of every floor, in a rotating order, so drift hits all alike.
//
// BENCH_MCP_OLD=/path/to/other/tree adds that tree's built CLI as "old" servers (for before/after runs).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mkdirSync, openSync, fsyncSync, closeSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import {
  cleanEnv,
  CLI,
  loadLib,
  pick,
  quantile,
  result,
  round,
  ROOT,
  runDirect,
  seedPending,
  tmpHome,
} from "./lib.mjs";

const TARGET = "p50 ≤ 1 ms, p99 ≤ 5 ms";
const meets = (xs) => quantile(xs, 0.5) <= 1 && quantile(xs, 0.99) <= 5;
const stats = (xs) => ({
  n: xs.length,
  p50: round(quantile(xs, 0.5), 3),
  p90: round(quantile(xs, 0.9), 3),
  p99: round(quantile(xs, 0.99), 3),
  max: round(Math.max(...xs), 3),
});

async function startServer(lib, cli, tag, fsync) {
  const home = tmpHome(`mcp-${tag}`);
  await lib.init({ home });
  await lib.createChannel({ home, name: "mcp-send" });
  await lib.createChannel({ home, name: "mcp-recv" });
  const env = cleanEnv({ ABQ_HOME: home, ...(fsync ? {} : { ABQ_FSYNC: "0" }) });
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli, "mcp"], env, cwd: ROOT });
  const client = new Client({ name: "abq-bench", version: "0" });
  await client.connect(transport);
  return { name: tag, home, client, close: () => client.close() };
}

async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${r.content?.[0]?.text}`);
  return r.structuredContent;
}

/** Raw node:fs floors, in `dir` (a folder of the same disk as the buses). */
function floors(dir, fsync) {
  const tmp = join(dir, "tmp");
  const a = join(dir, "a");
  const b = join(dir, "b");
  for (const d of [tmp, a, b]) mkdirSync(d, { recursive: true });
  const body = `${JSON.stringify({ id: "req_0", content: "hello", pad: "x".repeat(200) }, null, 2)}\n`;
  const syncDir = async (d) => {
    const h = await fsp.open(d, "r");
    await h.sync();
    await h.close();
  };
  let n = 0;
  return {
    /** A durable delivery: stage, fsync, rename, fsync the folder. */
    send: async () => {
      const name = `m${n++}.json`;
      const staged = join(tmp, name);
      const h = await fsp.open(staged, "wx", 0o600);
      await h.writeFile(body);
      if (fsync) await h.sync();
      await h.close();
      await fsp.rename(staged, join(a, name));
      if (fsync) await syncDir(a);
      return name;
    },
    /** A claim: stage a lease, rename the message, fsync its folder, commit the lease, read the message. */
    claim: async (name) => {
      const lease = join(tmp, `lease-${name}`);
      await fsp.writeFile(lease, body, { flag: "wx", mode: 0o600 });
      await fsp.rename(join(a, name), join(b, name));
      if (fsync) await syncDir(b);
      await fsp.rename(lease, join(b, `lease-${name}`));
      await fsp.readFile(join(b, name), "utf8");
    },
  };
}

const timed = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

export async function run() {
  const lib = await loadLib();
  const n = pick(1000, 100);
  const warmup = pick(50, 10);
  const trees = [["new", CLI]];
  if (process.env.BENCH_MCP_OLD) trees.unshift(["old", join(process.env.BENCH_MCP_OLD, "dist", "bin", "abq.js")]);
  const servers = [];
  try {
    for (const [tag, cli] of trees)
      for (const fsync of [true, false])
        servers.push(await startServer(lib, cli, `${tag}${fsync ? "" : "-nofsync"}`, fsync));
    for (const s of servers) seedPending(lib, s.home, "mcp-recv", n + warmup);
    // fsyncSync on a fresh file first: the floors' folder is on the same disk as the buses.
    const floorDir = tmpHome("mcp-floor");
    closeSync(openSync(join(floorDir, "probe"), "w"));
    fsyncSync(openSync(floorDir, "r"));
    const disk = { fsync: floors(join(floorDir, "sync"), true), nofsync: floors(join(floorDir, "nosync"), false) };

    const t = {};
    const add = (k, ms, round) => round >= warmup && (t[k] ??= []).push(ms);
    const pending = { fsync: [], nofsync: [] };
    // The protocol floors, in both phases' rotations (and pooled): the same load as the calls beside them.
    const protocolCases = servers.flatMap((s) => [
      [`ping ${s.name}`, () => s.client.ping()],
      [`toolcall ${s.name}`, () => s.client.callTool({ name: "abq_no_such_tool", arguments: {} })],
    ]);
    const sendCases = [
      ...servers.map((s) => [
        `send ${s.name}`,
        () => call(s.client, "abq_send", { channel: "mcp-send", type: "signal", content: "hello" }),
      ]),
      ...protocolCases,
      ["disk send fsync", async () => pending.fsync.push(await disk.fsync.send())],
      ["disk send nofsync", async () => pending.nofsync.push(await disk.nofsync.send())],
    ];
    const recvCases = [
      ...servers.map((s) => [
        `recv ${s.name}`,
        async () => {
          const r = await call(s.client, "abq_recv", { channel: "mcp-recv" });
          if (r.claimed !== true) throw new Error(`recv ${s.name}: nothing claimed`);
        },
      ]),
      ...protocolCases,
      ["disk claim fsync", () => disk.fsync.claim(pending.fsync.shift())],
      ["disk claim nofsync", () => disk.nofsync.claim(pending.nofsync.shift())],
    ];
    for (const cases of [sendCases, recvCases]) {
      for (let r = 0; r < warmup + n; r++) {
        for (let i = 0; i < cases.length; i++) {
          const [k, fn] = cases[(i + r) % cases.length];
          add(k, await timed(fn), r);
        }
      }
    }
    const p50 = (k) => quantile(t[k], 0.5);
    const details = {
      calls: n,
      phases:
        "sends, then receives (each recv claims one of the messages seeded beforehand); every round makes one " +
        "call of each kind to each server and one of each floor, in a rotating order",
      floors_ms: Object.fromEntries(
        Object.entries(t)
          .filter(([k]) => !k.startsWith("send ") && !k.startsWith("recv "))
          .map(([k, v]) => [k, stats(v)]),
      ),
      calls_ms: Object.fromEntries(
        Object.entries(t)
          .filter(([k]) => k.startsWith("send ") || k.startsWith("recv "))
          .map(([k, v]) => [k, stats(v)]),
      ),
    };
    const row = (tool, key, floorKey, sync) => {
      const server = sync ? "new" : "new-nofsync";
      const xs = t[`${key} ${server}`];
      const disk50 = p50(`disk ${floorKey} ${sync ? "fsync" : "nofsync"}`);
      const call50 = p50(`toolcall ${server}`);
      const floor = disk50 + call50;
      const old = t[`${key} ${server.replace("new", "old")}`];
      const pct = (xs, q) => quantile(xs, q).toFixed(2);
      return result(`MCP ${tool} latency${sync ? "" : ", ABQ_FSYNC=0"} (stdio, SDK client)`, {
        value: quantile(xs, 0.5),
        unit: "ms",
        target: TARGET,
        pass: meets(xs),
        display:
          `p50 ${pct(xs, 0.5)} / p99 ${pct(xs, 0.99)} ms (floor p50: tool call ${call50.toFixed(2)} [ping ` +
          `${p50(`ping ${server}`).toFixed(2)}] + raw fs ${disk50.toFixed(2)} = ${floor.toFixed(2)} ms` +
          `${old ? `; before: p50 ${pct(old, 0.5)} / p99 ${pct(old, 0.99)} ms` : ""})`,
        details,
        ...(meets(xs)
          ? {}
          : { note: `the floor (an empty tool call + the raw fs steps) is ${floor.toFixed(2)} ms at p50` }),
      });
    };
    return [
      row("abq_send", "send", "send", true),
      row("abq_recv", "recv", "claim", true),
      row("abq_send", "send", "send", false),
      row("abq_recv", "recv", "claim", false),
    ];
  } finally {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
  }
}

await runDirect(import.meta.url, run);
