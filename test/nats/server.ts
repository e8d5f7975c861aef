/**
 * A real nats-server per test file: `nats-server -js -a 127.0.0.1 -p <free port> -sd <temp dir>`, with
 * the shipped config (nats/abq-server.conf) so its syntax is tested too. Servers older than 2.10 do not
 * know `sync_interval`; for them the line is left out of a temp copy (Debian's package is 2.9).
 *
 * Without the binary the NATS suites are skipped with a loud warning, except under ABQ_REQUIRE_NATS=1
 * (CI), where a missing server fails the run instead of silently skipping it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

export const CONFIG = join(ROOT, "nats", "abq-server.conf");

function findBinary(): string | undefined {
  const given = process.env["ABQ_NATS_SERVER"]; // a path, or "none" to check the skip/fail behaviour
  if (given !== undefined && given !== "") return existsSync(given) ? given : undefined;
  for (const dir of [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]) {
    if (dir !== "" && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  return undefined;
}

export const NATS_SERVER = findBinary();

/** True when the suite can run; throws in CI (ABQ_REQUIRE_NATS=1) when it cannot. */
export function natsAvailable(): boolean {
  if (NATS_SERVER !== undefined) return true;
  if (process.env["ABQ_REQUIRE_NATS"] === "1") {
    throw new Error("ABQ_REQUIRE_NATS=1 but nats-server is not installed: the JetStream tests must run here");
  }
  const bar = "!".repeat(78);
  process.stderr.write(
    `\n${bar}\n!! nats-server not found: SKIPPING the NATS JetStream transport tests.\n` +
      `!! Install it (apt-get install nats-server) to run them; CI sets ABQ_REQUIRE_NATS=1 and fails here.\n${bar}\n\n`,
  );
  return false;
}

export function serverVersion(): [number, number] {
  const out = execFileSync(NATS_SERVER!, ["--version"], { encoding: "utf8" });
  const m = /v?(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
  });
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** Stops the server (SIGTERM, so it flushes its store) and starts it again on the same port and store. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startServer(opts: { jetstream?: boolean } = {}): Promise<NatsServer> {
  const root = mkdtempSync(join(tmpdir(), "abq-nats-"));
  const storeDir = join(root, "store");
  const port = await freePort();
  // The shipped config, minus its store_dir (we pass -sd, and the server refuses both) and, before 2.10,
  // minus sync_interval (unknown there).
  const config = join(root, "abq-server.conf");
  const [major, minor] = serverVersion();
  let text = readFileSync(CONFIG, "utf8").replace(/^\s*store_dir:.*$/m, "");
  if (major < 2 || (major === 2 && minor < 10)) text = text.replace(/^\s*sync_interval:.*$/m, "");
  writeFileSync(config, text);
  const js = opts.jetstream !== false;
  let child: ChildProcess | undefined;
  let log = "";
  const start = async (): Promise<void> => {
    const args = ["-a", "127.0.0.1", "-p", String(port)];
    if (js) args.unshift("-c", config, "-js", "-sd", storeDir);
    child = spawn(NATS_SERVER!, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (log = (log + d).slice(-20_000)));
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // JetStream comes up just after the port opens.
    if (js)
      while (!log.includes("Server is ready") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    start,
    stop: async () => {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
    restart: async (downMs = 300) => {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}
