/**
 * Every command through the built CLI as a real child process: stdout, stderr and exit code, in text
 * and `--json`. Each test has its own bus (ABQ_HOME) in a temp folder.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, type Bus } from "./helpers.ts";

interface Msg {
  id: string;
  type: string;
  content: string;
  to: string;
  ttl: number;
  reply_to?: string;
  from: { agent: string; pid: number; pwd: string };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

async function sendJson(bus: Bus, args: string[], input?: string): Promise<Msg> {
  const r = await bus.abq(["send", ...args, "--json"], input !== undefined ? { input } : {});
  expect(r.code, r.stderr).toBe(0);
  return parseJson<Msg>(r.stdout);
}

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
    expect(empty).toMatchObject({ code: 4, stdout: "", stderr: "abq: no pending messages in 'q'\n" });
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

describe("status, ls, show, purge, schema", () => {
  it("status shows counts per channel and the caller, in text and JSON", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    await bus.abq(["channel", "create", "q"]);
    await sendJson(bus, ["q", "signal", "a"]);
    await sendJson(bus, ["q", "signal", "b"]);
    const claimed = parseJson<Msg>((await bus.abq(["recv", "q", "--json"])).stdout);
    await bus.abq(["respond", "q", claimed.id]);
    await sendJson(bus, ["q", "signal", "c"]);
    await bus.abq(["recv", "q"]);
    const text = await bus.abq(["status"]);
    expect(text.stdout).toContain(`Home: ${bus.home}\nAgent: test/agent\n`);
    expect(text.stdout).toMatch(/CHANNEL\s+PENDING\s+CLAIMED\s+ANSWERED\s+ARCHIVED\s+REJECTED\s+OLDEST/);
    expect(text.stdout).toMatch(/\nq\s+1\s+1\s+1\s+1\s+0\s+\d+s/);
    const json = parseJson<{ agent: string; channels: Array<Record<string, unknown>> }>(
      (await bus.abq(["status", "--json"])).stdout,
    );
    expect(json.agent).toBe("test/agent");
    expect(json.channels.find((c) => c["name"] === "q")).toMatchObject({
      pending: 1,
      processing: 1,
      responses: 1,
      archived: 1,
      rejected: 0,
    });
    expect(json.channels.find((c) => c["name"] === "broadcast")).toMatchObject({
      pending: 0,
      oldestPendingAgeMs: null,
    });
  });

  it("ls lists newest first, -o oldest first, -n limits, -c counts, --json is NDJSON; states have aliases", async () => {
    const bus = makeBus();
    const sent: Msg[] = [];
    for (const c of ["a", "b\nsecond line", "c"]) sent.push(await sendJson(bus, ["q", "signal", c, "--create"]));
    const text = (await bus.abq(["ls", "q"])).stdout.trim().split("\n");
    expect(text.map((l) => l.split(/\s+/)[0])).toEqual([sent[2]!.id, sent[1]!.id, sent[0]!.id]);
    expect(text[1]).toContain("b\\nsecond line"); // newlines escaped, one row per message
    const oldest = (await bus.abq(["ls", "q", "-o", "-n", "2"])).stdout.trim().split("\n");
    expect(oldest.map((l) => l.split(/\s+/)[0])).toEqual([sent[0]!.id, sent[1]!.id]);
    expect((await bus.abq(["ls", "q", "--count"])).stdout).toBe("3\n");
    const ndjson = (await bus.abq(["ls", "q", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<Msg>(l));
    expect(ndjson.map((m) => m.id)).toEqual([sent[2]!.id, sent[1]!.id, sent[0]!.id]);
    await bus.abq(["recv", "q"]);
    expect((await bus.abq(["ls", "q", "claimed", "-c"])).stdout).toBe("1\n");
    expect((await bus.abq(["ls", "q", "processing", "--json"])).stdout).toContain(sent[0]!.id);
    expect((await bus.abq(["ls", "q", "pending", "-c"])).stdout).toBe("2\n");
    const bad = await bus.abq(["ls", "q", "nowhere"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown state/);
  });

  it("show finds a message in any state and channel, with its answer", async () => {
    const bus = makeBus();
    const m = await sendJson(bus, ["q", "command", "do it", "--create"]);
    const pending = await bus.abq(["show", m.id]);
    expect(pending.stdout).toContain(`ID: ${m.id}\nChannel: q\nState: pending\nType: command\n`);
    await bus.abq(["recv", "q"]);
    expect(parseJson((await bus.abq(["show", m.id, "--json"])).stdout)).toMatchObject({ state: "claimed" });
    await bus.abq(["respond", "q", m.id, "-r", "done"]);
    const done = parseJson<{ state: string; request: Msg; response: { result: string }; files: string[] }>(
      (await bus.abq(["show", m.id, "--json", "--channel", "q"])).stdout,
    );
    expect(done).toMatchObject({ channel: "q", state: "done", request: { id: m.id }, response: { result: "done" } });
    expect(done.files).toHaveLength(2);
    expect((await bus.abq(["show", m.id])).stdout).toContain("Response: success from test/agent");
    expect((await bus.abq(["show", "req_0123456789ab"])).code).toBe(3);
  });

  it("purge archives every pending message with a reason, never deleting", async () => {
    const bus = makeBus();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendJson(bus, ["q", "signal", String(i), "--create"])).id);
    const r = await bus.abq(["purge", "q", "--yes", "--reason", "stale after deploy", "--json"]);
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout)).toEqual({ channel: "q", purged: ids });
    const archive = join(bus.home, "channels", "q", "archive");
    for (const id of ids) {
      expect(parseJson(readFileSync(join(archive, `${id}_request.json`), "utf8"))).toMatchObject({ id });
      expect(parseJson(readFileSync(join(archive, `${id}_reason.json`), "utf8"))).toMatchObject({
        id,
        reason: "stale after deploy",
        by: "test/agent",
      });
    }
    expect((await bus.abq(["purge", "q", "-y"])).stdout).toBe("Purged 0 message(s) from q into its archive\n");
    expect((await bus.abq(["status", "--json"])).stdout).toContain('"archived":3');
  });

  it("schema prints JSON Schemas generated from the zod schemas", async () => {
    const bus = makeBus();
    const req = parseJson<{ properties: Record<string, unknown>; required: string[] }>(
      (await bus.abq(["schema"])).stdout,
    );
    expect(Object.keys(req.properties).sort()).toEqual(
      [
        "attempts",
        "content",
        "from",
        "id",
        "in_reply_to",
        "reply_to",
        "signature",
        "timestamp",
        "to",
        "ttl",
        "type",
        "version",
      ].sort(),
    );
    expect(req.required).not.toContain("reply_to");
    const res = parseJson<{ properties: Record<string, unknown> }>((await bus.abq(["schema", "response"])).stdout);
    expect(Object.keys(res.properties).sort()).toEqual([
      "error",
      "from",
      "id",
      "result",
      "status",
      "timestamp",
      "version",
    ]);
    expect((await bus.abq(["schema", "bogus"])).code).toBe(2);
  });
});

describe("help, version and usage", () => {
  it("--version prints the package version", async () => {
    const bus = makeBus();
    const pkg = parseJson<{ version: string }>(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
    expect(await bus.abq(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it.each([
    [[]],
    [["init"]],
    [["channel"]],
    [["channel", "create"]],
    [["channel", "list"]],
    [["channel", "info"]],
    [["channel", "rm"]],
    [["send"]],
    [["recv"]],
    [["respond"]],
    [["status"]],
    [["ls"]],
    [["show"]],
    [["purge"]],
    [["schema"]],
  ])("abq %j --help exits 0 with usage", async (args) => {
    const bus = makeBus();
    const r = await bus.abq([...args, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: abq/);
  });

  it("no arguments, an unknown command or a missing argument is a one-line usage error, exit 2", async () => {
    const bus = makeBus();
    expect((await bus.abq([])).code).toBe(2);
    const unknown = await bus.abq(["sned"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^abq: unknown command 'sned'.*\n$/);
    const missing = await bus.abq(["send", "q"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("send --batch", () => {
  it("sends one message per NDJSON line from one process, in order; --json prints each as stored", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    await bus.abq(["channel", "create", "other"]);
    const lines = [
      { type: "signal", content: "one" },
      { type: "command", content: "two", ttl: 60, reply_to: "other" },
      { type: "status", channel: "other" },
    ];
    const r = await bus.abq(["send", "q", "--batch", "--json"], {
      input: lines.map((l) => JSON.stringify(l)).join("\n"),
    });
    expect(r.code, r.stderr).toBe(0);
    const sent = r.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<Msg>(l));
    expect(sent.map((m) => [m.to, m.type, m.content])).toEqual([
      ["q", "signal", "one"],
      ["q", "command", "two"],
      ["other", "status", ""],
    ]);
    expect(sent[1]).toMatchObject({ ttl: 60, reply_to: "other" });
    expect([...sent.map((m) => m.id)].sort()).toEqual(sent.map((m) => m.id));
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("2\n");
    expect((await bus.abq(["send", "q", "--batch"], { input: '{"type":"signal"}\n' })).stdout).toBe(
      "Sent 1 message(s) to q\n",
    );
  });

  it("a bad line stops the batch with its line number; the lines before it are sent", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const r = await bus.abq(["send", "q", "--batch"], { input: '{"type":"signal"}\nnot json\n{"type":"signal"}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^abq: line 2: not JSON \(1 message\(s\) before it were sent\)/);
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("1\n");
    expect((await bus.abq(["send", "q", "signal", "x", "--batch"], { input: "" })).code).toBe(2);
  });
});

describe("send --batch through a pipe", () => {
  it("a short piped input is read completely even though the CLI starts slowly", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    for (let i = 0; i < 3; i++) {
      const r = await bus.abq(["send", "q", "--batch"], {
        input: '{"type":"signal","content":"a"}\n{"type":"signal"}\n',
      });
      expect(r).toMatchObject({ code: 0, stdout: "Sent 2 message(s) to q\n" });
    }
  });
});
