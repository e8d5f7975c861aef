/**
 * A real three-node JetStream cluster on loopback: one nats-server process per node, each with its own
 * store dir and config file (`server_name`, `jetstream { store_dir }`, `cluster { name, listen, routes }`,
 * `http` for the /jsz monitoring endpoint), on free ports. Nodes can be SIGKILLed and restarted on the
 * same config and store, which is what a crashed-and-rebooted machine looks like to the rest.
 *
 * The binary is the one test/nats/server.ts finds (Debian's in /usr/sbin); callers guard with
 * `natsAvailable()`, which fails the run under ABQ_REQUIRE_NATS=1 when it is missing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, NATS_SERVER } from "./server.ts";

export interface ClusterNode {
  /** `server_name`: what JetStream reports as a leader or replica. */
  name: string;
  port: number;
  url: string;
  httpPort: number;
  storeDir: string;
  config: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Starts the process (again) on the same config and store; resolves once it accepts clients. */
  start(): Promise<void>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The last 20 kB of its stderr log, across restarts. */
  log(): string;
}

export interface NatsCluster {
  root: string;
  nodes: ClusterNode[];
  /** Every node's client URL, comma-separated (what `--url` / ABQ_URL take for a cluster). */
  urls: string;
  node(name: string): ClusterNode;
  /** Resolves once every running node reports the same JetStream meta leader (from /jsz). */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Kills every node (SIGKILL: nothing is kept) and, unless `keep`, removes the temp dir. */
  stop(keep?: boolean): Promise<void>;
}

interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

async function jsz(node: ClusterNode): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.httpPort}/jsz`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startCluster(opts: { size?: number; name?: string } = {}): Promise<NatsCluster> {
  const bin = NATS_SERVER;
  if (bin === undefined) throw new Error("nats-server is not installed");
  const size = opts.size ?? 3;
  const clusterName = opts.name ?? "abq-test";
  const root = mkdtempSync(join(tmpdir(), "abq-nats-cluster-"));
  const ports: { client: number; route: number; http: number }[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await freePort(), route: await freePort(), http: await freePort() });
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`);

  const nodes = ports.map((p, i): ClusterNode => {
    const name = `n${i + 1}`;
    const dir = join(root, name);
    const storeDir = join(dir, "store");
    mkdirSync(storeDir, { recursive: true });
    const config = join(dir, "server.conf");
    writeFileSync(
      config,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${p.client}`,
        `http: 127.0.0.1:${p.http}`,
        `max_payload: 8MB`,
        `jetstream {`,
        `  store_dir: "${storeDir}"`,
        `}`,
        `cluster {`,
        `  name: ${clusterName}`,
        `  listen: 127.0.0.1:${p.route}`,
        `  routes: [`,
        ...routes.filter((_, j) => j !== i).map((r) => `    ${r}`),
        `  ]`,
        `}`,
        ``,
      ].join("\n"),
    );
    let child: ChildProcess | undefined;
    let log = "";
    const node: ClusterNode = {
      name,
      port: p.client,
      url: `nats://127.0.0.1:${p.client}`,
      httpPort: p.http,
      storeDir,
      config,
      get running() {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      get pid() {
        return node.running ? child?.pid : undefined;
      },
      log: () => log,
      async start() {
        if (node.running) return;
        const c = spawn(bin, ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
        child = c;
        c.stderr.setEncoding("utf8").on("data", (d: string) => (log = (log + d).slice(-20_000)));
        const deadline = Date.now() + 15_000;
        // "Server is ready" comes once the client listener is up (JetStream recovers before it).
        while (!/Server is ready/.test(log.slice(log.lastIndexOf("Starting nats-server")))) {
          if (c.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${log}`);
          await sleep(20);
        }
      },
      async kill(signal: NodeJS.Signals = "SIGKILL") {
        const c = child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once("exit", r));
        c.kill(signal);
        await exited;
      },
    };
    return node;
  });

  const cluster: NatsCluster = {
    root,
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name} in the cluster`);
      return n;
    },
    async waitForMetaLeader(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const up = nodes.filter((n) => n.running);
        const seen = await Promise.all(up.map(async (n) => (await jsz(n))?.meta_cluster?.leader ?? ""));
        const leader = seen[0] ?? "";
        if (leader !== "" && seen.every((l) => l === leader)) return leader;
        if (Date.now() > deadline) {
          throw new Error(`no JetStream meta leader within ${timeoutMs} ms (seen: ${seen.join(",")})`);
        }
        await sleep(100);
      }
    },
    async stop(keep = false) {
      await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
      if (!keep) rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * Steps a raft group's leader down (`$JS.API.STREAM.LEADER.STEPDOWN.<stream>` or
 * `$JS.API.CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>`) until `target` leads it. JetStream picks the
 * new leader itself, at random among the current replicas, so it may take a few rounds.
 */
export async function moveLeader(
  request: (subject: string) => Promise<unknown>,
  stepdownSubject: string,
  leaderOf: () => Promise<string | undefined>,
  target: string,
  timeoutMs = 20_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let rounds = 0; ; rounds++) {
    const leader = await leaderOf();
    if (leader === target) return rounds;
    if (Date.now() > deadline) throw new Error(`${stepdownSubject}: ${target} did not become leader (${leader})`);
    if (leader === undefined) {
      await sleep(100);
      continue;
    }
    await request(stepdownSubject).catch(() => undefined);
    while (Date.now() < deadline) {
      const next = await leaderOf();
      if (next !== undefined && next !== leader) break;
      await sleep(100);
    }
  }
}
