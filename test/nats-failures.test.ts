/**
 * What only a distributed bus has to survive: a SIGKILLed watcher (redelivery when the lease, JetStream's
 * ack wait, runs out), late completions from a lost lease (fenced), two machines on one server, a server
 * restart under a running watcher, dead letters, and the three ways of not reaching a usable server.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbqError, formatTimestamp, PROTOCOL_VERSION, type Response } from "../src/index.ts";
import { NatsTransport } from "../src/nats/transport.ts";
import { CLI, parseJson, startNode, until } from "./helpers.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { freePort, natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh, sendOne, shown } from "./nats/shared-cases.ts";

const HANDLERS = join(import.meta.dirname, "fixtures", "handlers");
const ACK_WAIT_MS = 1500;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : [];
}

describe.skipIf(!natsAvailable())("NATS JetStream: failures and recovery", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const makeBus = natsBusFactory(() => server, { ABQ_NATS_ACK_WAIT_MS: String(ACK_WAIT_MS) });

  it("a SIGKILLed watcher's message is redelivered once its lease runs out, and answered once", async () => {
    const bus = makeBus();
    const ch = fresh("kill");
    const started = join(bus.root, "started");
    mkdirSync(started);
    await bus.abq(["channel", "create", ch]);
    const id = await sendOne(bus, ch, "work");
    const env = { ...bus.env, STARTED_DIR: started, SLEEP_SECONDS: "30" };
    const first = startNode([CLI, "watch", ch, "--handler", join(HANDLERS, "slow.sh")], { env });
    await until(() => existsSync(join(started, id)), 15_000);
    first.child.kill("SIGKILL");
    await first.done;
    const second = startNode([CLI, "watch", ch, "--handler", `printf 'attempt %s' "$ABQ_ATTEMPT" && :`], { env });
    try {
      await until(async () => (await shown(bus, id)).state === "done", 20_000);
      expect((await shown(bus, id)).response).toMatchObject({ status: "success", result: "attempt 2" });
    } finally {
      second.child.kill("SIGTERM");
      await second.done;
    }
  });

  it("a completion from a lost lease is refused: the redelivered holder's answer is the only one", async () => {
    const bus = makeBus();
    const ch = fresh("fence");
    await bus.abq(["channel", "create", ch]);
    const id = await sendOne(bus, ch, "x");
    process.env["ABQ_NATS_ACK_WAIT_MS"] = String(ACK_WAIT_MS);
    try {
      const a = await NatsTransport.open({ url: server.url, home: bus.home, agent: "a" });
      const claimA = await a.claim(ch);
      await a.close(); // A stops renewing: its lease runs out
      await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 700));
      const b = await NatsTransport.open({ url: server.url, home: bus.home, agent: "b" });
      const claimB = await b.claim(ch);
      expect(claimB?.message.id).toBe(id);
      expect(claimB?.lease?.attempt).toBe(2);
      const answer = (result: string): Response => ({
        id,
        version: PROTOCOL_VERSION,
        status: "success",
        from: { agent: result, pid: process.pid },
        result,
        error: null,
        timestamp: formatTimestamp(),
      });
      const late = await NatsTransport.open({ url: server.url, home: bus.home, agent: "a" });
      const refused = await late
        .resume(ch, id, { lease: claimA?.lease?.token })
        .then((c) => c.answer(answer("from a")))
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AbqError);
      expect((refused as AbqError).code).toBe("E_CONFLICT");
      await claimB!.answer(answer("from b"));
      await Promise.all([late.close(), b.close()]);
      expect((await shown(bus, id)).response?.result).toBe("from b");
      expect((await bus.abq(["recv", ch])).code).toBe(4); // acked: not delivered a third time
    } finally {
      delete process.env["ABQ_NATS_ACK_WAIT_MS"];
    }
  });

  it("two machines (separate homes and identities) on one server: send on one, watch on the other", async () => {
    const a = makeBus({ ABQ_AGENT: "host-a/agent" });
    const b = makeBus({ ABQ_AGENT: "host-b/agent" });
    const ch = fresh("pair");
    expect((await a.abq(["channel", "create", ch])).code).toBe(0);
    const w = startNode([CLI, "watch", ch, "--handler", `printf 'pong from B' && :`], { env: b.env });
    try {
      const r = await a.abq(["send", ch, "command", "ping", "--wait", "--timeout", "20", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const response = parseJson<{ result: string; from: { agent: string }; id: string }>(r.stdout);
      expect(response).toMatchObject({ result: "pong from B", from: { agent: "host-b/agent" } });
      const s = await shown(a, response.id);
      expect(s.request?.["from"]).toMatchObject({ agent: "host-a/agent" });
      // The handler's $1 was materialised on B's side only.
      expect(existsSync(join(a.home, "nats"))).toBe(false);
    } finally {
      w.child.kill("SIGTERM");
      await w.done;
    }
  });

  it("a watcher survives a server restart: nothing lost, nothing answered twice", async () => {
    const bus = makeBus({ ABQ_NATS_ACK_WAIT_MS: "30000" });
    const ch = fresh("restart");
    const record = join(bus.root, "handled.txt");
    const started = join(bus.root, "started");
    mkdirSync(started);
    await bus.abq(["channel", "create", ch]);
    const env = { ...bus.env, RECORD_FILE: record, STARTED_DIR: started, SLEEP_SECONDS: "0.3" };
    const handler = `${join(HANDLERS, "slow.sh")} >/dev/null && ${join(HANDLERS, "record.sh")}`;
    const w = startNode([CLI, "watch", ch, "--handler", handler, "--json"], { env, timeoutMs: 120_000 });
    try {
      const before = [];
      for (let i = 0; i < 6; i++) before.push(await sendOne(bus, ch, `before ${i}`));
      await until(() => readdirSync(started).length >= 2, 15_000); // mid-way through the backlog
      await server.restart(500);
      const after = [];
      for (let i = 0; i < 4; i++) after.push(await sendOne(bus, ch, `after ${i}`));
      const all = [...before, ...after];
      await until(async () => {
        for (const id of all) if ((await shown(bus, id)).state !== "done") return false;
        return true;
      }, 60_000);
      expect(lines(record).sort()).toEqual([...all].sort()); // each handled once
      expect(alive(w.child.pid!)).toBe(true);
    } finally {
      w.child.kill("SIGTERM");
      await w.done;
    }
  });

  it("a message that keeps failing becomes a dead letter after max attempts", async () => {
    const bus = makeBus({ ABQ_NATS_MAX_ATTEMPTS: "2", ABQ_NATS_BACKOFF_MS: "100" });
    const ch = fresh("dead");
    await bus.abq(["channel", "create", ch]);
    const id = await sendOne(bus, ch, "75");
    const w = startNode([CLI, "watch", ch, "--handler", join(HANDLERS, "exit-code.sh"), "--json"], { env: bus.env });
    try {
      await until(async () => (await shown(bus, id)).state === "dead", 20_000);
      const dead = parseJson<{ id: string; attempts?: number; reason?: Record<string, unknown> }>(
        (await bus.abq(["ls", ch, "dead", "--json"])).stdout,
      );
      expect(dead).toMatchObject({ id, attempts: 1 }); // the copy the second (last) attempt got
      expect(dead.reason).toBeDefined();
      expect((await bus.abq(["recv", ch])).code).toBe(4);
    } finally {
      w.child.kill("SIGTERM");
      await w.done;
    }
  });

  it("bad URL, no server, no JetStream, no channel: one clear line and the right exit code", async () => {
    const bus = makeBus();
    const check = async (env: NodeJS.ProcessEnv, args: string[], code: number, pattern: RegExp) => {
      const t0 = Date.now();
      const r = await bus.abq(args, { env, timeoutMs: 20_000 });
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(Date.now() - t0).toBeLessThan(10_000);
      return r;
    };
    await check({}, ["--url", "nats://127.0.0.1:notaport", "status"], 2, /not a NATS URL/);
    await check({ ABQ_URL: "http://127.0.0.1:4222" }, ["status"], 2, /no transport for .http:\/\/./);
    const closed = await freePort();
    const down = await check({ ABQ_URL: `nats://127.0.0.1:${closed}` }, ["status"], 6, /cannot connect to NATS/);
    expect(down.stderr).toMatch(/nats-server/); // the hint
    const json = await check({ ABQ_URL: `nats://127.0.0.1:${closed}` }, ["recv", "x", "--json"], 6, /E_IO/);
    expect(parseJson<{ error: { code: string } }>(json.stderr).error.code).toBe("E_IO");
    const plain = await startServer({ jetstream: false });
    try {
      await check({ ABQ_URL: plain.url }, ["send", "x", "signal", "hi"], 6, /has no JetStream.*-js/);
    } finally {
      await plain.stop();
    }
    await check({}, ["recv", fresh("nope")], 3, /no channel/);
  });
});
