/**
 * Sharing over NATS is the server's user permissions (docs/sharing.md, "Over NATS"). The test writes a
 * nats-server config with the two users the docs describe, starts a real server with it, and runs the
 * built CLI as each (`--url nats://user:password@host:port`): the read-only user lists, shows, tails and
 * reads the status, and every send, claim and answer it tries is refused at once with exit 9, taking
 * nothing; the read-write user does all of it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, ROOT, startNode, until, untilTailIsLive, type Bus } from "./helpers.ts";
import { freePort, NATS_SERVER, natsAvailable } from "./nats/server.ts";

/** The config block in docs/sharing.md after `<!-- example: nats-permissions -->`: the docs are what is tested. */
function documentedConfig(): string {
  const doc = readFileSync(join(ROOT, "docs", "sharing.md"), "utf8");
  const m = /<!-- example: nats-permissions -->\s*```[a-z]*\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error("docs/sharing.md has no nats-permissions example");
  return m[1]!;
}

describe.runIf(natsAvailable())("NATS users: read-only and read-write", () => {
  let dir = "";
  let server: ChildProcess | undefined;
  let port = 0;
  const url = (user: string, pass: string): string => `nats://${user}:${pass}@127.0.0.1:${port}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "abq-nats-perm-"));
    port = await freePort();
    // The documented config, given a port and a store of its own.
    const conf = documentedConfig()
      .replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`)
      .replace(/store_dir: "[^"]*"/, `store_dir: "${join(dir, "store")}"`);
    writeFileSync(join(dir, "server.conf"), conf);
    let log = "";
    server = spawn(NATS_SERVER!, ["-c", join(dir, "server.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    server.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
    await until(() => log.includes("Server is ready") || server!.exitCode !== null, 15_000);
    if (!log.includes("Server is ready")) throw new Error(`nats-server did not start:\n${log}`);
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (bus: Bus, user: string, pass: string, args: string[]) =>
    bus.abq(["--url", url(user, pass), ...args], { env: { ABQ_NATS_RETRY_MS: "5000" } });

  it("the read-only user views and subscribes but cannot publish or consume; the read-write user can", async () => {
    const bus = makeBus();
    const owner = (args: string[]) => as(bus, "owner", "owner-secret", args);
    const ro = (args: string[]) => as(bus, "viewer", "viewer-secret", args);
    const rw = (args: string[]) => as(bus, "worker", "worker-secret", args);
    expect((await owner(["channel", "create", "jobs"])).code).toBe(0);
    const sent = await owner(["send", "jobs", "command", "hello", "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const id = parseJson<{ id: string }>(sent.stdout).id;

    const ls = await ro(["ls", "jobs"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain(id);
    const show = await ro(["show", id, "--channel", "jobs", "--json"]);
    expect(show.code, show.stderr).toBe(0);
    expect(parseJson<{ request: { content: string } }>(show.stdout).request.content).toBe("hello");
    expect((await ro(["status"])).code).toBe(0);

    const started = Date.now();
    for (const args of [
      ["send", "jobs", "command", "nope"],
      ["recv", "jobs"],
    ]) {
      const r = await ro(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr).toMatch(/Permissions Violation/);
    }
    expect(Date.now() - started).toBeLessThan(5000); // refused at once, not retried as an outage
    const still = await owner(["ls", "jobs", "--json"]);
    expect(still.stdout.trim().split("\n")).toHaveLength(1); // the viewer took nothing

    const mine = await rw(["send", "jobs", "command", "from the worker", "--json"]);
    expect(mine.code, mine.stderr).toBe(0);
    const claimed = await rw(["recv", "jobs"]);
    expect(claimed.code, claimed.stderr).toBe(0);
    const token = /^Lease: (\S+) /m.exec(claimed.stdout)?.[1];
    expect(token, claimed.stdout).toBeDefined();
    const denied = await ro(["respond", "jobs", id, "--lease", token!, "--result", "not mine to give"]);
    expect(denied.code, denied.stderr).toBe(9);
    const answered = await rw(["respond", "jobs", id, "--lease", token!, "--result", "done"]);
    expect(answered.code, answered.stderr).toBe(0);
    const seen = await ro(["show", id, "--channel", "jobs", "--json"]);
    expect(parseJson<{ response: { result: string } }>(seen.stdout).response.result).toBe("done");

    // Subscribing: the viewer's tail sees what is sent after it started.
    const tail = startNode([CLI, "--url", url("viewer", "viewer-secret"), "tail", "jobs"], {
      env: bus.env,
      timeoutMs: 30_000,
    });
    let out = "";
    tail.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const sendCommand = async (content: string) =>
      parseJson<{ id: string }>((await owner(["send", "jobs", "command", content, "--json"])).stdout).id;
    await untilTailIsLive(
      () => out,
      (i) => sendCommand(`probe ${i}`),
    );
    const later = await sendCommand("later");
    await until(() => out.includes(later), 15_000);
    tail.child.kill();
    await tail.done;
  });
});
