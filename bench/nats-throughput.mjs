// abq over NATS JetStream vs the raw @nats-io client, in the same run against the same server:
// one cycle = send a request, claim it, answer it. abq's cycle is the library's transport (Nats-Msg-Id,
// pull, fenced answer in the KV state record, ack); the raw one is publish (Nats-Msg-Id) →
// consumer.next() → ack(). A third line also reads `Claimed.path`, which materialises the message file a
// handler gets as $1 (one file create on the local disk per message). A fourth, for reference only, is the
// raw client doing what abq's respond does beyond an ack: its answer stored (a KV create) before the ack.
// Target (issue 18; issue 6 asked for 0.5×): abq ≥ 0.75× the raw client's cycles/s.
//
//   npm run build && node bench/nats-throughput.mjs [cycles]        (ABQ_URL=nats://… to use your server)
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";

const root = join(import.meta.dirname, "..");
const { NatsTransport } = await import(join(root, "dist", "src", "nats", "transport.js"));
const { newId, formatTimestamp, PROTOCOL_VERSION } = await import(join(root, "dist", "src", "index.js"));

const cycles = Number(process.argv[2] ?? 500);
const rounds = 5;
const tmp = mkdtempSync(join(tmpdir(), "abq-nats-bench-"));

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const bin =
    ["/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server"].find(existsSync) ?? "nats-server";
  const port = await freePort();
  const child = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", join(tmp, "store")], {
    stdio: "ignore",
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((r) => {
      const c = createConnection({ host: "127.0.0.1", port }, () => (c.destroy(), r(true))).on("error", () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 300)); // JetStream starts just after the port opens
  return { url: `nats://127.0.0.1:${port}`, stop: () => child.kill("SIGTERM") };
}

function request(channel, i) {
  return {
    id: newId(),
    version: PROTOCOL_VERSION,
    type: "command",
    from: { agent: "bench", pid: process.pid, pwd: tmp },
    to: channel,
    content: `job ${i}`,
    timestamp: formatTimestamp(),
    ttl: 300,
  };
}

async function abqRun(url, n, withFile = false) {
  const t = await NatsTransport.open({ url, home: join(tmp, "home"), agent: "bench" });
  const channel = `bench-${Date.now()}`;
  await t.createChannel(channel);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await t.send(request(channel, i));
    const c = await t.claim(channel);
    if (!c) throw new Error(`abq: claimed nothing at cycle ${i}`);
    if (withFile && !c.path) throw new Error("no $1 file"); // reading path materialises the handler's file
    const r = {
      id: c.message.id,
      version: PROTOCOL_VERSION,
      status: "success",
      from: { agent: "bench", pid: process.pid },
      result: "ok",
      error: null,
      timestamp: formatTimestamp(),
    };
    await c.answer(r);
  }
  const ms = performance.now() - start;
  await t.removeChannel(channel);
  await t.close();
  return (n * 1000) / ms;
}

async function rawRun(url, n, withAnswer = false) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `RAW_${Date.now()}`;
  await jsm.streams.add({ name: stream, subjects: [`raw.${stream}.>`], retention: "workqueue", storage: "file" });
  await jsm.consumers.add(stream, { durable_name: "work", ack_policy: "explicit" });
  const consumer = await js.consumers.get(stream, "work");
  const kv = withAnswer ? await new Kvm(js).create(`RAWKV_${stream}`, { history: 1 }) : undefined;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const body = request(stream, i);
    await js.publish(`raw.${stream}.${body.id}`, JSON.stringify(body, null, 2), { msgID: body.id });
    const m = await consumer.next({ expires: 5000 });
    if (!m) throw new Error("raw: fetched nothing");
    if (kv) await kv.create(body.id, JSON.stringify({ id: body.id, status: "success", result: "ok" }));
    m.ack();
  }
  const ms = performance.now() - start;
  await jsm.streams.delete(stream);
  if (kv) await jsm.streams.delete(`KV_RAWKV_${stream}`);
  await nc.drain();
  return (n * 1000) / ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = process.env.ABQ_URL ? { url: process.env.ABQ_URL, stop: () => undefined } : await startServer();
try {
  await abqRun(server.url, 50); // warm up both paths
  await rawRun(server.url, 50);
  const abq = [];
  const raw = [];
  const file = [];
  const answered = [];
  for (let r = 0; r < rounds; r++) {
    raw.push(await rawRun(server.url, cycles)); // interleaved, so drift hits all alike
    abq.push(await abqRun(server.url, cycles));
    file.push(await abqRun(server.url, cycles, true));
    answered.push(await rawRun(server.url, cycles, true));
  }
  const ratio = median(abq) / median(raw);
  console.log(`send→claim→respond, ${cycles} cycles × ${rounds} rounds on ${server.url}`);
  console.log(
    `  raw @nats-io client : ${median(raw).toFixed(0)} cycles/s  (${raw.map((x) => x.toFixed(0)).join(", ")})`,
  );
  console.log(
    `  abq over JetStream  : ${median(abq).toFixed(0)} cycles/s  (${abq.map((x) => x.toFixed(0)).join(", ")})`,
  );
  console.log(
    `  abq + $1 file       : ${median(file).toFixed(0)} cycles/s  (${file.map((x) => x.toFixed(0)).join(", ")})  [as abq watch: the claimed message written to disk]`,
  );
  console.log(
    `  raw + stored answer : ${median(answered).toFixed(0)} cycles/s  (${answered.map((x) => x.toFixed(0)).join(", ")})  [reference: a KV create before the ack, as abq's respond; abq/this ${(median(abq) / median(answered)).toFixed(2)}×]`,
  );
  console.log(
    `  ratio abq/raw       : ${ratio.toFixed(2)}×  (target ≥ 0.75×: ${ratio >= 0.75 ? "PASS" : "FAIL"}); with the file ${(median(file) / median(raw)).toFixed(2)}×`,
  );
  process.exitCode = ratio >= 0.75 ? 0 : 1;
} finally {
  server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
