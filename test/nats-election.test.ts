/**
 * While a JetStream cluster elects new leaders (a node died), abq waits instead of failing: the groups
 * it writes to answer nothing ("no responders", or a timeout) for the few seconds an election takes, and
 * every step retries that for up to ABQ_NATS_RETRY_MS. One deterministic case per path that used to
 * fail at once: an answer (its KV state record, then its reply to the reply_to channel), a claim of a
 * redelivered message (its KV record read and rewritten), and a `send` from a new process (the
 * JetStream API check and the state bucket it opens, both led by the dead node). The slower, randomised
 * version under load is test/nats-cluster.test.ts.
 *
 * Also: `ABQ_NATS_REPLICAS` is checked (1 to 5), and asking a single server for replicas fails loudly.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatTimestamp, PROTOCOL_VERSION, type Request, type Response } from "../src/index.ts";
import { NatsTransport } from "../src/nats/transport.ts";
import { BUCKET, encodeName, streamName } from "../src/nats/names.ts";
import { channelName } from "../src/protocol/names.ts";
import { makeBus } from "./helpers.ts";
import { moveLeader, type NatsCluster, startCluster } from "./nats/cluster.ts";
import { natsAvailable, startServer } from "./nats/server.ts";

const answerOf = (id: string): Response => ({
  id,
  version: PROTOCOL_VERSION,
  status: "success",
  from: { agent: "w", pid: process.pid },
  result: `done ${id}`,
  error: null,
  timestamp: formatTimestamp(),
});

const C = streamName(channelName("c"));
const R = streamName(channelName("r"));

describe.skipIf(!natsAvailable())("NATS JetStream cluster: abq retries through a leader election", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.waitForMetaLeader();
    nc = await connect({ servers: cluster.nodes.map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it("an answer, its reply, a redelivered claim and a new send wait for the new leaders", async () => {
    const bus = makeBus({ ABQ_NATS_REPLICAS: "3" });
    bus.env["ABQ_URL"] = cluster.urls;
    for (const name of ["c", "r"]) expect((await bus.abq(["channel", "create", name])).code).toBe(0);
    const sendOne = async (content: string) => {
      const r = await bus.abq(["send", "c", "command", content, "--reply-to", "r", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Request).id;
    };
    const a = await sendOne("a");
    const b = await sendOne("b");
    // The node that dies leads the meta group, the state bucket and the reply channel; the channel's
    // stream and consumer are led elsewhere (moved first: a consumer leader change forgets naks), so
    // claiming itself is not what waits.
    const jsm = await jetstreamManager(nc, { timeout: 1000, checkAPI: false });
    const victim = await cluster.waitForMetaLeader();
    const other = cluster.nodes.find((n) => n.name !== victim)!.name;
    const request = (subject: string) => nc.request(subject, "", { timeout: 2000 });
    const streamLeader = (stream: string) => async () =>
      (await jsm.streams.info(stream).catch(() => null))?.cluster?.leader;
    const step = (stream: string) => `$JS.API.STREAM.LEADER.STEPDOWN.${stream}`;
    await moveLeader(request, step(`KV_${BUCKET}`), streamLeader(`KV_${BUCKET}`), victim);
    await moveLeader(request, step(R), streamLeader(R), victim);
    await moveLeader(request, step(C), streamLeader(C), other);
    await moveLeader(
      request,
      `$JS.API.CONSUMER.LEADER.STEPDOWN.${C}.work`,
      async () => (await jsm.consumers.info(C, "work").catch(() => null))?.cluster?.leader,
      other,
    );
    const t = await NatsTransport.open({ url: cluster.urls, home: bus.home, agent: "w" });
    try {
      const claimA = await t.claim("c");
      const claimB = await t.claim("c");
      expect([claimA?.message.id, claimB?.message.id]).toEqual([a, b]);
      await claimB!.release(); // a `released` record: its next delivery must read and rewrite it
      await new Promise((r) => setTimeout(r, 300)); // the nak (sent without waiting) reaches the consumer
      await cluster.node(victim).kill("SIGKILL");

      const t0 = Date.now();
      const timed = <T>(p: Promise<T>) =>
        p.then(
          (v) => ({ ok: true as const, v, ms: Date.now() - t0 }),
          (e: unknown) => ({ ok: false as const, e: String(e), ms: Date.now() - t0 }),
        );
      const [answered, reclaimed, sent] = await Promise.all([
        timed(claimA!.answer(answerOf(a))),
        timed(t.claim("c")),
        timed(bus.abq(["send", "c", "command", "c", "--json"])),
      ]);
      console.log(`after the kill: answer ${answered.ms} ms, claim ${reclaimed.ms} ms, send ${sent.ms} ms`);
      expect(answered.ok ? "ok" : answered.e).toBe("ok");
      expect(reclaimed.ok ? reclaimed.v?.message.id : reclaimed.e).toBe(b);
      expect(sent.ok ? sent.v.code : sent.e, sent.ok ? sent.v.stderr : "").toBe(0);
      // Each waited for an election, not for nothing.
      expect(Math.max(answered.ms, reclaimed.ms, sent.ms)).toBeGreaterThan(1000);

      // The answer is stored once, and its reply reached the reply channel once.
      const kv = await new Kvm(nc).open(BUCKET);
      const entry = await kv.get(`${encodeName("c")}._.${a}`);
      expect(entry?.json<{ state: string; response: Response }>().response.result).toBe(`done ${a}`);
      const replies = await jsm.streams.info(R);
      expect(replies.state.messages).toBe(1);
      if (reclaimed.ok) await reclaimed.v?.release();
    } finally {
      await t.close();
    }
  }, 60_000);

  it("ABQ_NATS_REPLICAS: 1 to 5; more than a single server has fails loudly, with a hint", async () => {
    const bad = await makeBus({ ABQ_NATS_REPLICAS: "7" }).abq(["status"], { env: { ABQ_URL: cluster.urls } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ABQ_NATS_REPLICAS must be a whole number from 1 to 5/);
    const single = await startServer();
    try {
      const bus = makeBus({ ABQ_NATS_REPLICAS: "3" });
      bus.env["ABQ_URL"] = single.url;
      const r = await bus.abq(["channel", "create", "x"], { timeoutMs: 20_000 });
      expect(r.code).toBe(6);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/ABQ_NATS_REPLICAS=3 needs a JetStream cluster with at least 3 nodes/);
    } finally {
      await single.stop();
    }
  });
});
