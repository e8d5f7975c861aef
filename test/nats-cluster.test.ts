/**
 * A three-node JetStream cluster on loopback (real Debian nats-server processes, test/nats/cluster.ts),
 * an R3 channel, and steady load through the built CLI: producers run `abq send` processes one after
 * another, two `abq watch --handler` workers answer. Mid-load the stream's leader is SIGKILLed; a few
 * seconds later it is restarted on the same config and store. Then the producers stop and the workers
 * drain.
 *
 * What must hold: every send that exited 0 (acknowledged) is answered exactly once — one stored answer
 * (its KV state record) and one reply delivered to its reply_to channel — and every send that did not
 * succeed said so (non-zero exit, a line on stderr). Handler runs per message are counted and reported:
 * abq promises at-least-once delivery to handlers when a consumer dies (docs/multi-machine.md, Limits),
 * and "nothing handled twice that was answered"; the figures say what a leader failover does.
 *
 * abq creates everything itself, replicated on all three nodes: `ABQ_NATS_REPLICAS=3` makes the channel's
 * stream, the reply channel's stream and the `abq_state` KV bucket R3 (the consumers inherit it). Before
 * the load, every raft group abq uses is led by the node that will die, so its death costs every
 * election at once.
 */
import { type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { nanos } from "../src/nats/context.ts";
import { BUCKET, encodeName, streamName } from "../src/nats/names.ts";
import { channelName } from "../src/protocol/names.ts";
import type { Request, Response } from "../src/protocol/schema.ts";
import { CLI, makeBus, type RunResult, startNode, until } from "./helpers.ts";
import { moveLeader, type NatsCluster, startCluster } from "./nats/cluster.ts";
import { natsAvailable } from "./nats/server.ts";

const PRODUCERS = 3;
const WORKERS = 2;
const JOBS = 2;
/** The lease: short, so a delivery whose ack died with the leader comes back within the drain. */
const ACK_WAIT_MS = 5000;
const LOAD_BEFORE_KILL_MS = 6000;
const DOWN_MS = 12_000;
const LOAD_AFTER_RESTART_MS = 6000;
const DRAIN_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SendOutcome {
  producer: number;
  content: string;
  startMs: number;
  endMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  id?: string;
  stderr: string;
}

interface Run {
  atMs: number;
  id: string;
  attempt: number;
  content: string;
  worker: string;
}

interface StateRecord {
  state: string;
  response?: Response;
}

/** Acknowledged sends completed per second over [from, to). */
function rate(sends: SendOutcome[], from: number, to: number): number {
  const n = sends.filter((s) => s.endMs >= from && s.endMs < to).length;
  return to > from ? n / ((to - from) / 1000) : 0;
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return m;
}

describe.skipIf(!natsAvailable())("NATS JetStream cluster: the stream leader dies under load", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  /** For polling during the failover: a request to a group without a leader gives up after 500 ms. */
  let fast: JetStreamManager;

  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.waitForMetaLeader();
    nc = await connect({ servers: cluster.nodes.map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc, { timeout: 5000 });
    fast = await jetstreamManager(nc, { timeout: 500, checkAPI: false });
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it("an R3 stream loses no acknowledged send and answers none twice when its leader is SIGKILLed and restarted", async () => {
    const children = new Set<ChildProcess>();
    onTestFinished(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    });
    const spawnCli = (args: string[], env: NodeJS.ProcessEnv, timeoutMs: number) => {
      const p = startNode([CLI, ...args], { env, timeoutMs });
      children.add(p.child);
      void p.done.then(() => children.delete(p.child));
      return p;
    };

    const bus = makeBus({ ABQ_NATS_ACK_WAIT_MS: String(ACK_WAIT_MS) });
    bus.env["ABQ_URL"] = cluster.urls; // every node: the client fails over between them
    const ch = channelName(`work-${process.pid}`);
    const replies = channelName(`replies-${process.pid}`);
    const stream = streamName(ch);
    const replyStream = streamName(replies);

    // abq creates the state bucket (on its first connection), the channel and the reply channel, all R3.
    bus.env["ABQ_NATS_REPLICAS"] = "3";
    for (const name of [ch, replies]) {
      const created = await bus.abq(["channel", "create", name]);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).not.toMatch(/already exists/);
    }

    // The handler logs each run (time, id, attempt, content, worker) and answers "done <id>".
    const runsLog = join(bus.root, "runs.log");
    const handler = join(bus.root, "handler.sh");
    writeFileSync(
      handler,
      `#!/bin/sh\nprintf '%s %s %s %s %s\\n' "$(date +%s%3N)" "$ABQ_MSG_ID" "$ABQ_ATTEMPT" "$ABQ_MSG_CONTENT" "$WORKER" >> "$RUNS_LOG"\nprintf 'done %s' "$ABQ_MSG_ID"\n`,
    );
    chmodSync(handler, 0o755);
    const workers = Array.from({ length: WORKERS }, (_, i) => {
      const env = { ...bus.env, ABQ_AGENT: `worker-${i + 1}`, WORKER: `w${i + 1}`, RUNS_LOG: runsLog };
      const w = spawnCli(["watch", ch, "--handler", handler, "--jobs", String(JOBS), "--json"], env, 120_000);
      let out = "";
      w.child.stdout!.on("data", (d: string) => (out += d));
      return {
        w,
        events: () =>
          out
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>),
      };
    });
    // The watchers made the shared consumer (requireConsumer): it must be R3 like its stream.
    await until(
      async () => (await fast.consumers.info(stream, "work").catch(() => null))?.cluster?.leader !== undefined,
    );
    const ci = await jsm.consumers.info(stream, "work");
    expect(ci.config.ack_wait).toBe(nanos(ACK_WAIT_MS));
    const peers = new Set([ci.cluster!.leader!, ...(ci.cluster?.replicas ?? []).map((r) => r.name)]);
    expect([...peers].sort(), "consumer `work` is on every node").toEqual(cluster.nodes.map((n) => n.name));

    // The worst case, made deterministic: the node that will die leads everything abq uses — the
    // JetStream meta group, the channel's stream and its consumer, the state bucket and the reply channel.
    // JetStream places leaders at random; stepdowns move them (the meta leader stays where it is).
    const groups = {
      stream: { info: () => fast.streams.info(stream), stepdown: `$JS.API.STREAM.LEADER.STEPDOWN.${stream}` },
      consumer: {
        info: () => fast.consumers.info(stream, "work"),
        stepdown: `$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.work`,
      },
      kv: { info: () => fast.streams.info(`KV_${BUCKET}`), stepdown: `$JS.API.STREAM.LEADER.STEPDOWN.KV_${BUCKET}` },
      replies: {
        info: () => fast.streams.info(replyStream),
        stepdown: `$JS.API.STREAM.LEADER.STEPDOWN.${replyStream}`,
      },
    };
    const leaderOf = async (g: { info: () => Promise<{ cluster?: { leader?: string } }> }) =>
      (await g.info().catch(() => null))?.cluster?.leader;
    const meta = await cluster.waitForMetaLeader();
    const stepdowns: Record<string, number> = {};
    for (const [label, g] of Object.entries(groups)) {
      stepdowns[label] = await moveLeader(
        (subj) => nc.request(subj, "", { timeout: 2000 }),
        g.stepdown,
        () => leaderOf(g),
        meta,
      );
    }

    // Load: each producer runs `abq send` processes back to back; exit 0 = acknowledged.
    const sends: SendOutcome[] = [];
    let stopProducers = false;
    const loadStart = Date.now();
    const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let n = 0; !stopProducers; n++) {
        const content = `p${p}-${n}`;
        const startMs = Date.now();
        const r: RunResult = await spawnCli(
          ["send", ch, "command", content, "--reply-to", replies, "--json"],
          bus.env,
          90_000,
        ).done;
        const outcome: SendOutcome = {
          producer: p,
          content,
          startMs,
          endMs: Date.now(),
          code: r.code,
          signal: r.signal,
          stderr: r.stderr.trim(),
        };
        if (r.code === 0) outcome.id = (JSON.parse(r.stdout) as Request).id;
        sends.push(outcome);
      }
    });

    await sleep(LOAD_BEFORE_KILL_MS);
    const leadersAtKill = {
      meta: await cluster.waitForMetaLeader(),
      stream: await leaderOf(groups.stream),
      consumer: await leaderOf(groups.consumer),
      kv: await leaderOf(groups.kv),
      replies: await leaderOf(groups.replies),
    };
    expect(leadersAtKill.stream, "the stream has a leader").toBeDefined();
    const victim = cluster.node(leadersAtKill.stream!);
    const killAt = Date.now();
    await victim.kill("SIGKILL");

    // New leaders on the surviving nodes: how long each raft group (and the meta group) took to elect one.
    const elected: Record<string, number> = {};
    const pending = new Set([...Object.keys(groups), "meta"]);
    while (pending.size > 0 && Date.now() - killAt < DOWN_MS) {
      await Promise.all(
        [...pending].map(async (label) => {
          const l =
            label === "meta"
              ? await cluster.waitForMetaLeader(0).catch(() => undefined)
              : await leaderOf(groups[label as keyof typeof groups]);
          if (l !== undefined && l !== victim.name && pending.delete(label)) elected[label] = Date.now() - killAt;
        }),
      );
      await sleep(100);
    }
    const newLeader = pending.has("stream") ? undefined : await leaderOf(groups.stream);
    await sleep(Math.max(0, killAt + DOWN_MS - Date.now()));

    const restartAt = Date.now();
    await victim.start();
    // It rejoins as a replica and catches up.
    let caughtUpMs = NaN;
    while (Date.now() - restartAt < 15_000) {
      const si = await fast.streams.info(stream).catch(() => null);
      const peer = si?.cluster?.replicas?.find((r) => r.name === victim.name);
      if (si?.cluster?.leader === victim.name || (peer?.current === true && peer.offline !== true)) {
        caughtUpMs = Date.now() - restartAt;
        break;
      }
      await sleep(100);
    }
    await sleep(Math.max(0, restartAt + LOAD_AFTER_RESTART_MS - Date.now()));
    stopProducers = true;
    await Promise.all(producers);
    const loadEnd = Date.now();

    const acked = sends.filter((s) => s.code === 0);
    const failed = sends.filter((s) => s.code !== 0);
    const ackedIds = new Set(acked.map((s) => s.id!));
    const kv = await new Kvm(nc).open(BUCKET);
    const prefix = `${encodeName(ch)}._.`;
    const record = async (id: string): Promise<StateRecord | null> => {
      const e = await kv.get(`${prefix}${id}`).catch(() => null);
      return e && e.operation === "PUT" && e.value.length > 0 ? e.json<StateRecord>() : null;
    };

    // Drain: every acknowledged send answered, and nothing left in the stream or in flight.
    const unanswered = new Set(ackedIds);
    let drainedAt = NaN;
    // (A watcher that died is a failure, asserted below; the others still get to drain.)
    const allDied = () => workers.every(({ w }) => w.child.exitCode !== null || w.child.signalCode !== null);
    while (Date.now() - loadEnd < DRAIN_TIMEOUT_MS && !allDied()) {
      for (const id of [...unanswered]) {
        const r = await record(id);
        if (r?.state === "answered" || r?.state === "read") unanswered.delete(id);
      }
      const ci = await jsm.consumers.info(stream, "work").catch(() => null);
      const si = await jsm.streams.info(stream).catch(() => null);
      if (unanswered.size === 0 && ci?.num_pending === 0 && ci.num_ack_pending === 0 && si?.state.messages === 0) {
        drainedAt = Date.now();
        break;
      }
      await sleep(250);
    }
    const diedEarly = workers.map(({ w }) => w.child.exitCode !== null || w.child.signalCode !== null);
    for (const { w } of workers) w.child.kill("SIGTERM");
    const watcherResults = await Promise.all(workers.map(({ w }) => w.done));

    // What was stored and delivered. Answers: the KV state records. Replies: one message per answer
    // delivered to the reply_to channel (its id is derived from the request and the answer's time, so a
    // second, different answer would be a second message).
    const runs: Run[] = existsSync(runsLog)
      ? readFileSync(runsLog, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => {
            const [atMs, id, attempt, content, worker] = l.split(" ");
            return { atMs: Number(atMs), id: id!, attempt: Number(attempt), content: content!, worker: worker! };
          })
      : [];
    const runsPerId = countBy(runs, (r) => r.id);
    const replyMsgs: Request[] = [];
    const rsi = await jsm.streams.info(replyStream);
    for (let seq = rsi.state.first_seq; seq <= rsi.state.last_seq && rsi.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(replyStream, { seq }).catch(() => null);
      if (m) replyMsgs.push(m.json<Request>());
    }
    const repliesPerId = countBy(replyMsgs, (m) => m.in_reply_to ?? "?");
    const keys: string[] = [];
    for await (const k of await kv.keys(`${prefix}>`)) keys.push(k);
    const lateKeys = keys.filter((k) => k.includes(".late."));
    const answered = new Map<string, StateRecord>();
    for (const k of keys.filter((k) => !k.includes(".late."))) {
      const r = await record(k.slice(prefix.length));
      if (r && (r.state === "answered" || r.state === "read")) answered.set(k.slice(prefix.length), r);
    }
    const events = workers.flatMap(({ events }) => events());
    const warnings = events.filter((e) => e["type"] === "warning");

    // Figures.
    let gapMs = 0;
    let gapAt = 0;
    const ends = acked.map((s) => s.endMs).sort((a, b) => a - b);
    for (let i = 1; i < ends.length; i++) {
      if (ends[i]! - ends[i - 1]! > gapMs) [gapMs, gapAt] = [ends[i]! - ends[i - 1]!, ends[i - 1]!];
    }
    const rerun = [...runsPerId].filter(([, n]) => n > 1);
    const ackedContents = new Set(acked.map((s) => s.content));
    const failedButHandled = failed.filter((s) => runs.some((r) => r.content === s.content));
    const figures = {
      leaders: leadersAtKill,
      stepdowns,
      killed: victim.name,
      newLeader,
      electedMs: elected,
      caughtUpMs,
      sendsAttempted: sends.length,
      acknowledged: acked.length,
      answeredRecords: [...ackedIds].filter((id) => answered.has(id)).length,
      repliesDelivered: replyMsgs.length,
      failedSends: failed.map((s) => ({
        code: s.code,
        signal: s.signal,
        startedAfterKillMs: s.startMs - killAt,
        tookMs: s.endMs - s.startMs,
        stderr: s.stderr,
      })),
      failedButHandled: failedButHandled.length,
      handlerRuns: runs.length,
      handlerReruns: rerun.map(([id]) =>
        runs
          .filter((r) => r.id === id)
          .map((r) => ({ id, attempt: r.attempt, worker: r.worker, afterKillMs: r.atMs - killAt })),
      ),
      lateAnswersKept: lateKeys.length,
      watcherWarnings: warnings.map((w) => w["message"]),
      watchersDied: watcherResults
        .map((r, i) => ({ worker: `w${i + 1}`, code: r.code, signal: r.signal, stderr: r.stderr.slice(-2000) }))
        .filter((_, i) => diedEarly[i]),
      longestSendGapMs: gapMs,
      longestGapStartsAfterKillMs: gapAt - killAt,
      maxSendLatencyMs: Math.max(...sends.map((s) => s.endMs - s.startMs)),
      drainMs: drainedAt - loadEnd,
      sendsPerSecBefore: Number(rate(acked, loadStart, killAt).toFixed(1)),
      sendsPerSecWhileDown: Number(rate(acked, killAt, restartAt).toFixed(1)),
      sendsPerSecAfterRestart: Number(rate(acked, restartAt, loadEnd).toFixed(1)),
      ackedAcrossKill: acked.filter((x) => x.startMs < killAt && x.endMs > killAt).length,
      handlerRunsPerSec: {
        before: Number((runs.filter((r) => r.atMs < killAt).length / ((killAt - loadStart) / 1000)).toFixed(1)),
        whileDown: Number(
          (runs.filter((r) => r.atMs >= killAt && r.atMs < restartAt).length / ((restartAt - killAt) / 1000)).toFixed(
            1,
          ),
        ),
        after: Number(
          (runs.filter((r) => r.atMs >= restartAt && r.atMs < loadEnd).length / ((loadEnd - restartAt) / 1000)).toFixed(
            1,
          ),
        ),
      },
    };
    console.log(`NATS cluster failover figures:\n${JSON.stringify(figures, null, 2)}`);

    expect(
      figures.watchersDied.map((d) => `${d.worker} exited ${d.code ?? d.signal}: ${d.stderr.trim()}`),
      "no watcher may die during the failover",
    ).toEqual([]);

    // abq made every stream it created R3 (ABQ_NATS_REPLICAS).
    expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3);
    expect((await jsm.streams.info(`KV_${BUCKET}`)).config.num_replicas).toBe(3);
    expect((await jsm.streams.info(replyStream)).config.num_replicas).toBe(3);

    // The failover really happened: the leader was killed, another node led, the killed one came back.
    expect(newLeader, "a surviving node became the stream leader").toBeDefined();
    expect(Number.isFinite(caughtUpMs), "the restarted node rejoined the stream").toBe(true);
    expect(acked.filter((s) => s.endMs < killAt).length).toBeGreaterThan(0);
    expect(acked.filter((s) => s.startMs > restartAt).length).toBeGreaterThan(0);
    expect(Number.isFinite(drainedAt), `not drained: ${unanswered.size} acknowledged sends unanswered`).toBe(true);

    // No acknowledged send lost: each has its stored answer ("done <id>") and exactly one reply.
    for (const id of ackedIds) {
      expect(answered.get(id)?.response?.result, `answer of ${id}`).toBe(`done ${id}`);
      expect(repliesPerId.get(id) ?? 0, `replies delivered for ${id}`).toBe(1);
    }
    // No message answered twice, acknowledged or not: at most one reply per request, and no reply for a
    // request that was never handled.
    for (const [id, n] of repliesPerId) {
      expect(n, `replies delivered for ${id}`).toBe(1);
      expect(runsPerId.has(id), `a reply for ${id}, which no handler ran`).toBe(true);
    }
    // A failed send fails loudly: a non-zero exit and a reason on stderr, never a silent success.
    for (const s of failed) {
      expect(s.code, `send ${s.content}`).not.toBe(0);
      expect(s.code, `send ${s.content} did not end by itself`).not.toBeNull();
      expect(s.stderr.split("\n"), `send ${s.content}: one line on stderr`).toHaveLength(1);
      expect((JSON.parse(s.stderr) as { error: { code: string } }).error.code).toMatch(/^E_/);
    }
    // Handlers only ran for messages that were sent (acknowledged, or failed but stored anyway).
    for (const r of runs) {
      expect(ackedContents.has(r.content) || failedButHandled.some((s) => s.content === r.content)).toBe(true);
    }
  }, 90_000);
});
