/**
 * `abq lock` on the file spool and over NATS: acquire/release/list and their exit codes, waiting, fencing
 * by token, takeover only from a dead or expired holder (never from a live one, whatever its TTL says),
 * and `lock run` releasing when its command crashes and when abq itself is SIGKILLed (the next acquirer
 * kills the orphaned command's process group and takes over). The 8-process torture is lock-torture.test.ts.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, CLI, LIB, makeBus, parseJson, runNode, startNode, tempDir, until } from "./helpers.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { liveness, makeOwner } from "../src/lock/owner.ts";

async function ok(b: Bus, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await b.abq(args, { env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const unique = (tag: string): string => `${tag}-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Takes the lock `rounds` times; inside, publishes a marker with link(2): another live holder's is a failure. */
const RACER = `
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const [lib, dir, name, rounds] = process.argv.slice(2);
const { acquireLock, releaseLock } = await import(pathToFileURL(lib).href);
const mine = join(dir, "m." + process.pid);
writeFileSync(mine, String(process.pid));
for (let i = 0; i < Number(rounds); i++) {
  const hold = await acquireLock({ name, wait: 60, fsync: false });
  try { linkSync(mine, join(dir, "inside")); } catch { console.log("TWO HOLDERS"); process.exit(99); }
  await new Promise((r) => setTimeout(r, 2));
  unlinkSync(join(dir, "inside"));
  await releaseLock({ name, token: hold.token, fsync: false });
}
unlinkSync(mine);
`;

function lockCases(bus: () => Bus): void {
  it("8 processes take one lock 15 times each: never two holders at once", async () => {
    const b = bus();
    const dir = tempDir();
    writeFileSync(join(dir, "racer.mjs"), RACER);
    const name = unique("race");
    const runs = await Promise.all(
      Array.from({ length: 8 }, () =>
        runNode([join(dir, "racer.mjs"), LIB, dir, name, "15"], { env: b.env, cwd: b.root, timeoutMs: 120_000 }),
      ),
    );
    for (const r of runs) expect([r.code, r.stdout], r.stderr).toEqual([0, ""]);
    expect(parseJson((await ok(b, ["lock", "list", name, "--json"])).trim())).toMatchObject({ state: "free" });
  }, 120_000);

  it("acquire, release, list, and the exit codes: 7 held, 5 wait ran out, 2 bad name", async () => {
    const b = bus();
    const name = unique("mig");
    const hold = parseJson<{ token: string; owner: { pid: number } }>(await ok(b, ["lock", "acquire", name, "--json"]));
    expect(hold.token).toMatch(/^[0-9a-f]{16}$/);
    expect(hold.owner.pid).toBe(0); // a CLI hold is its TTL alone: the CLI process exits at once
    const held = await b.abq(["lock", "acquire", name], { env: { ABQ_AGENT: "other/agent" } });
    expect([held.code, held.stderr]).toEqual([7, expect.stringContaining(`lock '${name}' is held by test/agent`)]);
    const waited = await b.abq(["lock", "acquire", name, "--wait", "1"], { env: { ABQ_AGENT: "other/agent" } });
    expect([waited.code, waited.stderr]).toEqual([5, expect.stringContaining("gave up waiting")]);
    const listed = parseJson((await ok(b, ["lock", "list", name, "--json"])).trim());
    expect(listed).toMatchObject({ name, state: "held", owner: { agent: "test/agent" } });
    expect(listed).not.toHaveProperty("token");
    const foreign = await b.abq(["lock", "release", name], { env: { ABQ_AGENT: "other/agent" } });
    expect([foreign.code, foreign.stderr]).toEqual([7, expect.stringContaining("not by you")]);
    expect((await b.abq(["lock", "release", name, "--token", "0000000000000000"])).code).toBe(7);
    expect(await ok(b, ["lock", "release", name, "--token", hold.token])).toBe(`Released ${name}\n`);
    expect((await b.abq(["lock", "release", name])).code).toBe(7); // not held any more
    expect((await b.abq(["lock", "acquire", "a/b"])).code).toBe(2);
    expect((await b.abq(["lock", "acquire", name, "--ttl", "0"])).code).toBe(2);
  });

  it("--wait gets the lock when its holder releases it", async () => {
    const b = bus();
    const name = unique("wait");
    await ok(b, ["lock", "acquire", name]);
    const waiter = b.abq(["lock", "acquire", name, "--wait", "20s", "--json"], { env: { ABQ_AGENT: "other/agent" } });
    await new Promise((r) => setTimeout(r, 800));
    await ok(b, ["lock", "release", name]);
    const got = await waiter;
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson(got.stdout)).toMatchObject({ owner: { agent: "other/agent" } });
  }, 30_000);

  it("an expired hold with no live owner is taken over, and says so", async () => {
    const b = bus();
    const name = unique("exp");
    await ok(b, ["lock", "acquire", name, "--ttl", "1"]);
    await new Promise((r) => setTimeout(r, 1100));
    const r = await b.abq(["lock", "acquire", name, "--json"], { env: { ABQ_AGENT: "other/agent" } });
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson(r.stdout)).toMatchObject({ took_over: { owner: { agent: "test/agent" }, reason: "expired" } });
  });

  it("lock run holds the lock while the command runs and releases it when the command crashes", async () => {
    const b = bus();
    const name = unique("run");
    const during = join(b.root, "during.json");
    const run = await b.abq([
      "lock",
      "run",
      name,
      "--",
      "sh",
      "-c",
      `node ${CLI} lock list ${name} --json > ${during}; kill -9 $$`,
    ]);
    expect(run.code, run.stderr).toBe(137); // the command's own status: killed by SIGKILL
    expect(parseJson(readFileSync(during, "utf8"))).toMatchObject({ state: "held" });
    expect(parseJson((await ok(b, ["lock", "list", name, "--json"])).trim())).toMatchObject({ state: "free" });
    const failed = await b.abq(["lock", "run", name, "--", "sh", "-c", "exit 3"]);
    expect(failed.code).toBe(3);
    const missing = await b.abq(["lock", "run", name, "--", "/no/such/program"]);
    expect([missing.code, missing.stderr]).toEqual([
      127,
      expect.stringContaining("cannot run /no/such/program: command not found"),
    ]);
    expect(parseJson((await ok(b, ["lock", "list", name, "--json"])).trim())).toMatchObject({ state: "free" });
  }, 30_000);
}

describe("abq lock on the file spool", () => {
  lockCases(() => makeBus());

  it("never takes a lock from a live owner, even expired; takes it at once when the owner dies", async () => {
    const b = makeBus();
    const sleeper = startNode(["-e", "setTimeout(() => {}, 60000)"]);
    const pid = sleeper.child.pid!;
    await ok(b, ["lock", "acquire", "mig", "--ttl", "1", "--owner-pid", String(pid)]);
    await new Promise((r) => setTimeout(r, 1200));
    const refused = await b.abq(["lock", "acquire", "mig"], { env: { ABQ_AGENT: "other/agent" } });
    expect([refused.code, refused.stderr]).toEqual([7, expect.stringContaining(`pid ${pid}`)]);
    sleeper.child.kill("SIGKILL");
    await sleeper.done;
    const taken = await b.abq(["lock", "acquire", "mig", "--json"], { env: { ABQ_AGENT: "other/agent" } });
    expect(taken.code, taken.stderr).toBe(0);
    expect(parseJson(taken.stdout)).toMatchObject({ took_over: { reason: "owner died" } });
  });

  it("a reused pid is not the owner: the process start time must match too", () => {
    expect(liveness(makeOwner("a", process.pid))).toBe("alive");
    expect(liveness({ ...makeOwner("a", process.pid), started: "1" })).toBe("dead");
    expect(liveness({ agent: "a", pid: process.pid, host: `not-${hostname()}` })).toBe("unknown");
    expect(liveness({ agent: "a", pid: 0, host: hostname() })).toBe("unknown");
  });

  it("lock run: when abq is SIGKILLed, the next acquirer kills its command's group and takes over", async () => {
    const b = makeBus();
    const pidFile = join(b.root, "cmd.pid");
    const run = startNode(
      [CLI, "lock", "run", "deploy", "--ttl", "1h", "--", "sh", "-c", `echo $$ > ${pidFile}; sleep 60`],
      {
        env: b.env,
        cwd: b.root,
      },
    );
    await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "");
    const cmdPid = Number(readFileSync(pidFile, "utf8"));
    // Wait until the lock records the command's process group (abq does right after starting it).
    const head = (): string => {
      const dir = join(b.home, "locks", "deploy");
      const name = readdirSync(dir).find((n) => n.startsWith("head."));
      return name === undefined ? "" : readFileSync(join(dir, name), "utf8");
    };
    await until(() => head().includes(`"pgid":${cmdPid}`));
    const exited = new Promise((r) => run.child.once("exit", r)); // not "close": the orphan keeps its pipes
    run.child.kill("SIGKILL");
    await exited;
    expect(alive(cmdPid)).toBe(true); // orphaned, still running
    const taken = await b.abq(["lock", "acquire", "deploy", "--json"], { env: { ABQ_AGENT: "other/agent" } });
    expect(taken.code, taken.stderr).toBe(0);
    expect(parseJson(taken.stdout)).toMatchObject({ took_over: { reason: "owner died" } });
    await until(() => !alive(cmdPid), 5000);
  }, 30_000);
});

describe.skipIf(!natsAvailable())("abq lock over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  lockCases(() => {
    const b = makeBus();
    b.env["ABQ_URL"] = server.url;
    return b;
  });
});
