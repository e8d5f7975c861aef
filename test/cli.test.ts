/**
 * The core commands (init, channel, send, recv, respond) through the built CLI as a real child process:
 * stdout, stderr and exit code, in text and `--json`. Each test has its own bus (ABQ_HOME) in a temp
 * folder. The other commands are in test/cli-*.test.ts (inspect, claims, states, batch, help).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, sendJson, type SentMessage as Msg } from "./helpers.ts";

const mode = (path: string): number => statSync(path).mode & 0o777;

describe("init and channels", () => {
  it("init creates a private home, the registry and broadcast; it is idempotent", async () => {
    const bus = makeBus();
    const first = await bus.abq(["init"]);
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toBe(`Initialized: ${bus.home}\n`);
    expect(mode(bus.home)).toBe(0o700);
    expect(mode(join(bus.home, "registry.json"))).toBe(0o600);
    expect(readdirSync(join(bus.home, "channels"))).toEqual(["broadcast"]);
    const again = await bus.abq(["init", "--json"]);
    expect(parseJson(again.stdout)).toEqual({ home: bus.home, created: false });
  });

  it("channel create / list / info / rm, in text and JSON", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "build", "-d", "CI results"])).stdout).toBe("Created channel: build\n");
    expect((await bus.abq(["channel", "create", "build"])).stdout).toBe("Channel already exists: build\n");
    const created = parseJson((await bus.abq(["channel", "create", "deploy", "--json"])).stdout);
    expect(created).toMatchObject({ name: "deploy", kind: "queue", created: true });
    for (const sub of ["requests", "processing", "responses", "archive", "tmp", "rejected"]) {
      expect(mode(join(bus.home, "channels", "build", sub))).toBe(0o700);
    }

    expect((await bus.abq(["channel", "list"])).stdout).toBe("build\ndeploy\n");
    const listed = (await bus.abq(["channel", "list", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => parseJson(l));
    expect(listed.map((c) => c["name"])).toEqual(["build", "deploy"]);

    await bus.abq(["send", "build", "signal", "x"]);
    const info = await bus.abq(["channel", "info", "build"]);
    expect(info.stdout).toMatch(/Description:\s+CI results/);
    expect(info.stdout).toMatch(/Pending:\s+1/);
    const infoJson = parseJson<{ status: { pending: number }; description: string }>(
      (await bus.abq(["channel", "info", "build", "--json"])).stdout,
    );
    expect(infoJson).toMatchObject({ description: "CI results", status: { pending: 1 } });

    const registry = parseJson<{ channels: Record<string, unknown> }>(
      readFileSync(join(bus.home, "registry.json"), "utf8"),
    );
    expect(Object.keys(registry.channels).sort()).toEqual(["build", "deploy"]);

    const refused = await bus.abq(["channel", "rm", "build"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/1 pending.*--yes/);
    expect((await bus.abq(["channel", "rm", "build", "--yes"])).stdout).toBe("Removed channel: build\n");
    expect(parseJson((await bus.abq(["channel", "rm", "deploy", "--json"])).stdout)).toMatchObject({
      removed: "deploy",
      pending: 0,
    });
    expect((await bus.abq(["channel", "list"])).stdout).toBe("");
    expect((await bus.abq(["channel", "info", "build"])).code).toBe(3);
    expect((await bus.abq(["channel", "rm", "build"])).code).toBe(3);
  });

  it("concurrent channel creates lose no channel in registry.json", async () => {
    const bus = makeBus();
    const names = Array.from({ length: 8 }, (_, i) => `ch-${i}`);
    const results = await Promise.all(names.map((n) => bus.abq(["channel", "create", n])));
    expect(results.every((r) => r.code === 0)).toBe(true);
    const registry = parseJson<{ channels: Record<string, unknown> }>(
      readFileSync(join(bus.home, "registry.json"), "utf8"),
    );
    expect(Object.keys(registry.channels).sort()).toEqual(names);
  });
});

describe("send", () => {
  it("sends content from an argument, from '-' and from a pipe; prints the stored message with --json", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const text = await bus.abq(["send", "q", "command", '{"cmd":"test"}']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Sent: req_[0-9a-f]{32} -> q\n$/);

    const fromDash = await sendJson(bus, ["q", "eval", "-"], "from stdin\n");
    expect(fromDash.content).toBe("from stdin\n");
    const piped = await sendJson(bus, ["q", "signal"], "piped");
    expect(piped.content).toBe("piped");

    const full = await sendJson(bus, ["q", "status", "hello", "--ttl", "60", "--reply-to", "inbox"]);
    expect(full).toMatchObject({
      version: "1.0.0",
      type: "status",
      to: "q",
      content: "hello",
      ttl: 60,
      reply_to: "inbox",
    });
    expect(full.from).toEqual({ agent: "test/agent", pid: expect.any(Number) as number, pwd: bus.root });
    const file = join(bus.home, "channels", "q", "requests", `${full.id}.json`);
    expect(parseJson(readFileSync(file, "utf8"))).toEqual(full);
    expect(mode(file)).toBe(0o600);
    expect(readdirSync(join(bus.home, "channels", "q", "tmp"))).toEqual([]);
  });

  it("ids sort by send time", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendJson(bus, ["q", "signal", String(i)])).id);
    expect([...ids].sort()).toEqual(ids);
  });

  it("a missing channel is exit 3 naming `abq channel create`; --create makes it", async () => {
    const bus = makeBus();
    const r = await bus.abq(["send", "nope", "signal", "x"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("abq: no channel 'nope' (create it with: abq channel create nope)\n");
    expect((await bus.abq(["send", "nope", "signal", "x", "--create"])).code).toBe(0);
    expect((await bus.abq(["ls", "nope", "-c"])).stdout).toBe("1\n");
  });
});

describe("recv and respond", () => {
  it("recv claims the oldest first and prints it; --json prints the stored message; empty is exit 4", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const a = await sendJson(bus, ["q", "command", "first"]);
    const b = await sendJson(bus, ["q", "command", "second"]);
    const text = await bus.abq(["recv", "q"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`ID: ${a.id}\nType: command\nFrom: test/agent\n`);
    expect(text.stdout).toContain("Content: first\n");
    const json = await bus.abq(["recv", "q", "--json"]);
    expect(parseJson(json.stdout)).toEqual(b);
    expect(readdirSync(join(bus.home, "channels", "q", "processing")).sort()).toEqual([`${a.id}.json`, `${b.id}.json`]);
    const empty = await bus.abq(["recv", "q"]);
    // Exit 4 alone ends a `while msg=$(abq recv q)` loop: nothing on stderr (--json keeps its error).
    expect(empty).toMatchObject({ code: 4, stdout: "", stderr: "" });
  });

  it("recv --wait returns a message sent while it waits, and times out with exit 5", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const waiting = bus.abq(["recv", "q", "--wait", "--timeout", "20", "--json"]);
    await new Promise((r) => setTimeout(r, 300));
    const sent = await sendJson(bus, ["q", "signal", "wake"]);
    const got = await waiting;
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson<Msg>(got.stdout).id).toBe(sent.id);

    const timedOut = await bus.abq(["recv", "q", "--wait", "--timeout", "0.3"]);
    expect(timedOut.code).toBe(5);
    expect(timedOut.stderr).toMatch(/within 0.3s/);
  });

  it("respond answers and archives; --json prints the stored response; status error carries --error", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const m1 = await sendJson(bus, ["q", "command", "one"]);
    const m2 = await sendJson(bus, ["q", "command", "two"]);
    await bus.abq(["recv", "q"]);
    await bus.abq(["recv", "q"]);
    const ok = await bus.abq(["respond", "q", m1.id, "--result", "all good"]);
    expect(ok).toMatchObject({ code: 0, stdout: `Responded: ${m1.id} (success)\n` });
    const err = await bus.abq(["respond", "q", m2.id, "-s", "error", "-e", "boom", "--json"]);
    const response = parseJson(err.stdout);
    expect(response).toMatchObject({ id: m2.id, version: "1.0.0", status: "error", result: "", error: "boom" });
    const dir = join(bus.home, "channels", "q");
    expect(parseJson(readFileSync(join(dir, "responses", `${m2.id}.json`), "utf8"))).toEqual(response);
    expect(readdirSync(join(dir, "archive")).sort()).toEqual([`${m1.id}_request.json`, `${m2.id}_request.json`]);
    expect(readdirSync(join(dir, "processing"))).toEqual([]);
  });

  it("a pending note keeps the message claimed; the final answer replaces it; --result - reads stdin", async () => {
    const bus = makeBus();
    const m = await sendJson(bus, ["q", "command", "long job", "--create"]);
    await bus.abq(["recv", "q"]);
    expect((await bus.abq(["respond", "q", m.id, "-s", "pending", "-r", "halfway"])).code).toBe(0);
    const dir = join(bus.home, "channels", "q");
    expect(readdirSync(join(dir, "processing"))).toEqual([`${m.id}.json`]);
    const shown = parseJson<{ state: string; response: { status: string } }>(
      (await bus.abq(["show", m.id, "--json"])).stdout,
    );
    expect(shown).toMatchObject({ state: "claimed", response: { status: "pending" } });
    const final = await bus.abq(["respond", "q", m.id, "--result", "-", "--json"], { input: "finished\n" });
    expect(parseJson(final.stdout)).toMatchObject({ status: "success", result: "finished\n" });
    expect(readdirSync(join(dir, "processing"))).toEqual([]);
    expect((await bus.abq(["respond", "q", m.id, "-r", "again"])).code).toBe(7);
  });
});
