/**
 * The example handlers in handlers/, the handler contract ($1, stdin, ABQ_* env, exit codes, timeouts) and
 * `abq tail`, all through the built CLI as real child processes with real scripts. Nothing is mocked.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type Bus,
  CLI,
  makeBus,
  parseJson,
  ROOT,
  type RunResult,
  startNode,
  tempDir,
  until,
  untilTailIsLive,
} from "./helpers.ts";

interface Msg {
  id: string;
  type: string;
  content: string;
  attempts?: number;
  from: { agent: string; pid: number; pwd: string };
}

interface Shown {
  channel: string;
  state: string;
  request?: Msg;
  response?: { status: string; result: string; error: string | null };
}

const handler = (name: string): string => join(ROOT, "handlers", name);

/** Sends through stdin (`-`), so contents larger than one argv string (128 KiB) work too. */
async function send(bus: Bus, channel: string, type: string, content: string): Promise<Msg> {
  const r = await bus.abq(["send", channel, type, "-", "--create", "--json"], { input: content });
  expect(r.code, r.stderr).toBe(0);
  return parseJson<Msg>(r.stdout);
}

async function show(bus: Bus, id: string): Promise<Shown> {
  const r = await bus.abq(["show", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<Shown>(r.stdout);
}

/** `abq watch <channel> --handler <cmd> --once [...extra]`, expected to exit 0 by itself. */
async function watchOnce(
  bus: Bus,
  channel: string,
  handlerCmd: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  const r = await bus.abq(["watch", channel, "--handler", handlerCmd, "--once", ...extra], { env, timeoutMs: 20_000 });
  expect(r.code, `stderr: ${r.stderr}\nsignal: ${r.signal}`).toBe(0);
  return r;
}

/** An executable script in `dir`. */
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}

const ndjson = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => parseJson(l));

const channelDir = (bus: Bus, channel: string): string => join(bus.home, "channels", channel);
const pending = (bus: Bus, channel: string): string[] => readdirSync(join(channelDir(bus, channel), "requests"));
const responses = (bus: Bus, channel: string): string[] => readdirSync(join(channelDir(bus, channel), "responses"));
const archived = (bus: Bus, channel: string): string[] => readdirSync(join(channelDir(bus, channel), "archive"));
const requestFile = (bus: Bus, channel: string, id: string): Msg =>
  parseJson<Msg>(readFileSync(join(channelDir(bus, channel), "requests", `${id}.json`), "utf8"));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

describe("handlers/echo.sh", () => {
  it("answers with the message content: small (from ABQ_MSG_CONTENT) and 200 kB (from $1)", async () => {
    const bus = makeBus();
    const small = await send(bus, "jobs", "command", "hello, echo: *quoted* 'text' $HOME `x` \\n");
    const bigContent = Array.from(
      { length: 200 * 1024 },
      (_, i) => "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36],
    ).join("");
    expect(Buffer.byteLength(bigContent)).toBeGreaterThan(32 * 1024);
    const big = await send(bus, "jobs", "command", bigContent);

    await watchOnce(bus, "jobs", handler("echo.sh"));

    const a = await show(bus, small.id);
    expect(a).toMatchObject({ state: "done", response: { status: "success", result: small.content, error: null } });
    const b = await show(bus, big.id);
    expect(b.state).toBe("done");
    expect(b.response?.status).toBe("success");
    expect(b.response?.result.length).toBe(bigContent.length);
    expect(b.response?.result).toBe(bigContent);
    expect(pending(bus, "jobs")).toEqual([]);
  });
});

describe("handlers/dispatch.sh", () => {
  it("signal, status, command and eval each get their answer", async () => {
    const bus = makeBus();
    const signal = await send(bus, "ops", "signal", "deploy finished");
    const status = await send(bus, "ops", "status", "are you there?");
    const command = await send(bus, "ops", "command", "echo 42");
    const evalMsg = await send(bus, "ops", "eval", "1 + 1");

    await watchOnce(bus, "ops", handler("dispatch.sh"));

    expect((await show(bus, signal.id)).response).toMatchObject({
      status: "success",
      result: "noted signal from test/agent",
    });
    const st = (await show(bus, status.id)).response;
    expect(st?.status).toBe("success");
    expect(st?.result).toMatch(/^ok:/);
    expect((await show(bus, command.id)).response).toMatchObject({ status: "success", result: "42" });
    const ev = (await show(bus, evalMsg.id)).response;
    expect(ev?.status).toBe("error");
    expect(ev?.error).toContain("eval is not enabled on this worker");
    expect(pending(bus, "ops")).toEqual([]);
  });
});

describe("handlers/node-handler.mjs", () => {
  it("JSON content comes back parsed, with the id and attempt 1", async () => {
    const bus = makeBus();
    const m = await send(bus, "jobs", "command", '{"a":1}');
    await watchOnce(bus, "jobs", handler("node-handler.mjs"));
    const res = (await show(bus, m.id)).response;
    expect(res?.status).toBe("success");
    expect(parseJson(res!.result)).toMatchObject({
      handled: m.id,
      type: "command",
      from: "test/agent",
      attempt: 1,
      payload: { a: 1 },
    });
  });

  it("exit 75 (busy): each --once run puts the message back with attempts + 1 and answers nothing", async () => {
    const bus = makeBus();
    // No backoff, so the message is offered again at once (the default policy waits 1 s, doubling).
    expect((await bus.abq(["channel", "create", "jobs", "--backoff", "0"])).code).toBe(0);
    const m = await send(bus, "jobs", "command", "busy");
    expect(requestFile(bus, "jobs", m.id).attempts).toBeUndefined();

    const first = await watchOnce(bus, "jobs", handler("node-handler.mjs"), ["--json"]);
    // One pass takes the message once: it is put back when the run ends, not retried in a loop.
    const firstHandled = ndjson(first.stdout).filter((e) => e["type"] === "handled");
    expect(firstHandled).toEqual([expect.objectContaining({ id: m.id, status: "retry", attempt: 1, exit_code: 75 })]);
    expect(pending(bus, "jobs")).toEqual([`${m.id}.json`]);
    expect(readdirSync(join(channelDir(bus, "jobs"), "processing"))).toEqual([]);
    expect(requestFile(bus, "jobs", m.id).attempts).toBe(1);
    expect(responses(bus, "jobs")).toEqual([]);

    const second = await watchOnce(bus, "jobs", handler("node-handler.mjs"), ["--json"]);
    const secondHandled = ndjson(second.stdout).filter((e) => e["type"] === "handled");
    expect(secondHandled).toEqual([expect.objectContaining({ id: m.id, status: "retry", attempt: 2, exit_code: 75 })]);
    expect(requestFile(bus, "jobs", m.id).attempts).toBe(2);
    expect(responses(bus, "jobs")).toEqual([]);
    expect(archived(bus, "jobs")).toEqual([]);
    const shown = await show(bus, m.id);
    expect(shown.state).toBe("pending");
    expect(shown.response).toBeUndefined();
  });

  it("exit 75 under a running watch: retried with backoff and a growing attempt, then dead-lettered", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "jobs", "--backoff", "0.2", "--max-attempts", "3"])).code).toBe(0);
    const m = await send(bus, "jobs", "command", "busy");
    const w = startNode([CLI, "watch", "jobs", "--handler", handler("node-handler.mjs"), "--json"], {
      env: bus.env,
      cwd: bus.root,
    });
    let out = "";
    w.child.stdout!.on("data", (d: string) => (out += d));
    const attempts = (): number[] =>
      ndjson(out)
        .filter((e) => e["type"] === "handled")
        .map((e) => e["attempt"] as number);
    await until(() => existsSync(join(channelDir(bus, "jobs"), "dead", `${m.id}.json`)), 20_000);
    expect(attempts()).toEqual([1, 2, 3]);
    w.child.kill("SIGINT");
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    expect(pending(bus, "jobs")).toEqual([]);
    expect(responses(bus, "jobs")).toEqual([]);
  });
});

describe("handlers/agent.sh", () => {
  it("passes the content to ABQ_AGENT_CMD as its last argument; the agent's output is the answer", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-agent-");
    const agent = script(
      dir,
      "fake-agent",
      `#!/bin/sh
for last in "$@"; do :; done
printf 'AGENT GOT: %s' "$last"
`,
    );
    const m = await send(bus, "reviews", "command", "review the diff, please: it's 'quoted' $HOME");
    await watchOnce(bus, "reviews", handler("agent.sh"), [], { ABQ_AGENT_CMD: agent });
    expect((await show(bus, m.id)).response).toMatchObject({
      status: "success",
      result: `AGENT GOT: ${m.content}`,
    });
  });

  it("--timeout ends the agent and the processes it started, and answers an error", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-agent-");
    // The child ignores SIGTERM: only the SIGKILL to the whole process group ends it.
    const agent = script(
      dir,
      "slow-agent",
      `#!/bin/sh
echo $$ > ${dir}/agent.pid
(trap '' TERM; exec sleep 300) &
echo $! > ${dir}/child.pid
sleep 30
echo "never"
`,
    );
    const m = await send(bus, "reviews", "command", "take your time");
    const started = Date.now();
    await watchOnce(bus, "reviews", handler("agent.sh"), ["--timeout", "1"], { ABQ_AGENT_CMD: agent });
    expect(Date.now() - started).toBeLessThan(15_000);
    const res = (await show(bus, m.id)).response;
    expect(res?.status).toBe("error");
    expect(res?.error).toMatch(/timed out/);

    const agentPid = Number(readFileSync(join(dir, "agent.pid"), "utf8"));
    const childPid = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    expect(agentPid).toBeGreaterThan(1);
    expect(childPid).toBeGreaterThan(1);
    await until(() => !alive(agentPid) && !alive(childPid), 5_000);
    expect(alive(agentPid)).toBe(false);
    expect(alive(childPid)).toBe(false);
  });
});

describe("the handler contract", () => {
  /** A handler that records $#, $1, a copy of $1, its stdin and its ABQ_* env, per message id. */
  function dumper(dir: string): string {
    return script(
      dir,
      "dump.sh",
      `#!/bin/sh
out="${dir}/$ABQ_MSG_ID"
mkdir -p "$out"
printf '%s' "$#" > "$out/argc"
printf '%s' "$1" > "$out/arg1"
cp "$1" "$out/copy.json"
cat > "$out/stdin"
env | grep '^ABQ_' > "$out/env"
printf 'dumped'
`,
    );
  }

  function envOf(path: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return env;
  }

  it("$1 is the claimed file in processing/, stdin is the message JSON, env describes the message", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-dump-");
    const dump = dumper(dir);
    const m = await send(bus, "jobs", "status", "small content, one line");
    const stored = readFileSync(join(channelDir(bus, "jobs"), "requests", `${m.id}.json`), "utf8");

    await watchOnce(bus, "jobs", dump);

    const out = join(dir, m.id);
    const claimedPath = join(channelDir(bus, "jobs"), "processing", `${m.id}.json`);
    expect(readFileSync(join(out, "argc"), "utf8")).toBe("1");
    expect(readFileSync(join(out, "arg1"), "utf8")).toBe(claimedPath);
    // The file was there while the handler ran, with the message as stored.
    expect(parseJson(readFileSync(join(out, "copy.json"), "utf8"))).toEqual(parseJson(stored));
    expect(parseJson(readFileSync(join(out, "stdin"), "utf8"))).toEqual(parseJson(stored));
    expect(existsSync(claimedPath)).toBe(false); // answered and archived afterwards

    const env = envOf(join(out, "env"));
    expect(env).toMatchObject({
      ABQ_HOME: bus.home,
      ABQ_CHANNEL: "jobs",
      ABQ_MSG_ID: m.id,
      ABQ_MSG_TYPE: "status",
      ABQ_MSG_FROM: "test/agent",
      ABQ_MSG_FILE: claimedPath,
      ABQ_ATTEMPT: "1",
      ABQ_MSG_CONTENT: "small content, one line",
    });
    expect(env["ABQ_REPLY_TO"]).toBeUndefined();
    expect((await show(bus, m.id)).response).toMatchObject({ status: "success", result: "dumped" });
  });

  it("ABQ_MSG_CONTENT is set up to 32 KiB of content and absent above; stdin always has all of it", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-dump-");
    const dump = dumper(dir);
    const atLimit = await send(bus, "jobs", "command", "x".repeat(32 * 1024));
    const overLimit = await send(bus, "jobs", "command", "y".repeat(32 * 1024 + 1));
    await watchOnce(bus, "jobs", dump);

    expect(envOf(join(dir, atLimit.id, "env"))["ABQ_MSG_CONTENT"]).toBe(atLimit.content);
    const over = envOf(join(dir, overLimit.id, "env"));
    expect(over["ABQ_MSG_CONTENT"]).toBeUndefined();
    expect(over["ABQ_MSG_ID"]).toBe(overLimit.id);
    expect(parseJson<Msg>(readFileSync(join(dir, overLimit.id, "stdin"), "utf8")).content).toBe(overLimit.content);
  });

  it("ABQ_REPLY_TO is set when the message has a reply_to", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-dump-");
    const dump = dumper(dir);
    await bus.abq(["channel", "create", "inbox"]);
    const r = await bus.abq([
      "send",
      "jobs",
      "command",
      "reply elsewhere",
      "--reply-to",
      "inbox",
      "--create",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = parseJson<Msg>(r.stdout);
    await watchOnce(bus, "jobs", dump);
    expect(envOf(join(dir, m.id, "env"))["ABQ_REPLY_TO"]).toBe("inbox");
  });

  it("a command line with spaces gets the message path as its first argument too", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-dump-");
    const mjs = join(dir, "args.mjs");
    writeFileSync(
      mjs,
      `import { copyFileSync, writeFileSync } from "node:fs";
const out = ${JSON.stringify(dir)} + "/" + process.env.ABQ_MSG_ID;
writeFileSync(out + ".args", JSON.stringify(process.argv.slice(2)));
copyFileSync(process.argv[2], out + ".copy");
let input = "";
for await (const chunk of process.stdin) input += chunk;
process.stdout.write("got " + JSON.parse(input).content);
`,
    );
    const m = await send(bus, "jobs", "command", "via a command line");
    await watchOnce(bus, "jobs", `node ${mjs}`);

    const claimedPath = join(channelDir(bus, "jobs"), "processing", `${m.id}.json`);
    expect(parseJson<string[]>(readFileSync(join(dir, `${m.id}.args`), "utf8"))).toEqual([claimedPath]);
    expect(parseJson<Msg>(readFileSync(join(dir, `${m.id}.copy`), "utf8")).id).toBe(m.id);
    expect((await show(bus, m.id)).response).toMatchObject({ status: "success", result: "got via a command line" });
  });
});

describe("a handler that cannot run", () => {
  it("a missing handler is exit 2 with a one-line error; the pending message stays", async () => {
    const bus = makeBus();
    const m = await send(bus, "jobs", "command", "keep me");
    const before = readFileSync(join(channelDir(bus, "jobs"), "requests", `${m.id}.json`), "utf8");
    const r = await bus.abq(["watch", "jobs", "--handler", "./does-not-exist"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/does-not-exist/);
    expect(pending(bus, "jobs")).toEqual([`${m.id}.json`]);
    expect(readFileSync(join(channelDir(bus, "jobs"), "requests", `${m.id}.json`), "utf8")).toBe(before);
    expect(readdirSync(join(channelDir(bus, "jobs"), "processing"))).toEqual([]);
  });

  it("a handler file that is not executable is exit 2; the message is untouched", async () => {
    const bus = makeBus();
    const dir = tempDir("abq-noexec-");
    const path = join(dir, "handler.sh");
    writeFileSync(path, "#!/bin/sh\necho hi\n");
    chmodSync(path, 0o644);
    const m = await send(bus, "jobs", "command", "keep me too");
    const before = readFileSync(join(channelDir(bus, "jobs"), "requests", `${m.id}.json`), "utf8");
    const r = await bus.abq(["watch", "jobs", "--handler", path, "--once"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(path);
    expect(pending(bus, "jobs")).toEqual([`${m.id}.json`]);
    expect(readFileSync(join(channelDir(bus, "jobs"), "requests", `${m.id}.json`), "utf8")).toBe(before);
    expect(responses(bus, "jobs")).toEqual([]);
  });
});

describe("abq tail", () => {
  /** Starts `abq tail` and waits until it prints what is sent (see untilTailIsLive). */
  async function startTail(bus: Bus, channel: string, extra: string[] = []) {
    const t = startNode([CLI, "tail", channel, ...extra], { env: bus.env, cwd: bus.root, timeoutMs: 60_000 });
    let out = "";
    t.child.stdout!.on("data", (d: string) => (out += d));
    const probes = await untilTailIsLive(
      () => out,
      async (i) => (await send(bus, channel, "status", `probe ${i}`)).id,
    );
    return { ...t, output: () => out, probes };
  }

  it("prints new messages (→) and answers (←), not what existed before; SIGINT exits 0", async () => {
    const bus = makeBus();
    const answeredBefore = await send(bus, "q", "signal", "answered before the tail");
    await bus.abq(["recv", "q"]);
    expect((await bus.abq(["respond", "q", answeredBefore.id, "-r", "old answer"])).code).toBe(0);
    const pendingBefore = await send(bus, "q", "signal", "pending before the tail");

    const t = await startTail(bus, "q");
    const sent: Msg[] = [];
    for (const c of ["first new", "second new", "third new"]) sent.push(await send(bus, "q", "signal", c));
    // Claim (oldest first) until the second new message is ours, then answer it.
    for (;;) {
      const r = await bus.abq(["recv", "q", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      if (parseJson<Msg>(r.stdout).id === sent[1]!.id) break;
    }
    expect((await bus.abq(["respond", "q", sent[1]!.id, "-r", "done with it"])).code).toBe(0);

    const lines = (): string[] => t.output().split("\n");
    await until(() => lines().includes(`← ${sent[1]!.id} success test/agent done with it`), 10_000);
    for (const m of sent) expect(lines()).toContain(`→ ${m.id} signal test/agent ${m.content}`);
    expect(t.output()).not.toContain(pendingBefore.id);
    expect(t.output()).not.toContain(answeredBefore.id);
    expect(lines().filter((l) => l.startsWith("←"))).toHaveLength(1);

    t.child.kill("SIGINT");
    const r = await t.done;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(0);
  });

  it("--json prints NDJSON {kind: message|response}", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const t = await startTail(bus, "q", ["--json"]);
    const m = await send(bus, "q", "command", "json please");
    for (;;) {
      const r = await bus.abq(["recv", "q", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      if (parseJson<Msg>(r.stdout).id === m.id) break;
    }
    expect((await bus.abq(["respond", "q", m.id, "-r", "as json"])).code).toBe(0);

    const events = (): Array<Record<string, unknown>> => ndjson(t.output());
    await until(() => events().some((e) => e["kind"] === "response"), 10_000);
    for (const e of events()) expect(["message", "response"]).toContain(e["kind"]);
    expect(events()).toContainEqual(
      expect.objectContaining({
        kind: "message",
        message: expect.objectContaining({ id: m.id, type: "command", content: "json please" }) as unknown,
      }),
    );
    expect(events()).toContainEqual(
      expect.objectContaining({
        kind: "response",
        response: expect.objectContaining({ id: m.id, status: "success", result: "as json" }) as unknown,
      }),
    );
    t.child.kill("SIGINT");
    expect((await t.done).code).toBe(0);
  });

  it("a message claimed and answered at once by a running watch still shows up, with its answer", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const w = startNode([CLI, "watch", "q", "--handler", handler("echo.sh")], { env: bus.env, cwd: bus.root });
    const t = await startTail(bus, "q");
    const sent: Msg[] = [];
    for (const c of ["fast one", "fast two"]) sent.push(await send(bus, "q", "signal", c));

    const lines = (): string[] => t.output().split("\n");
    await until(() => sent.every((m) => lines().includes(`← ${m.id} success test/agent ${m.content}`)), 15_000);
    for (const m of sent) expect(lines()).toContain(`→ ${m.id} signal test/agent ${m.content}`);
    // The watch really did answer them (not the tail seeing them pending).
    for (const m of sent) expect((await show(bus, m.id)).state).toBe("done");

    t.child.kill("SIGINT");
    w.child.kill("SIGINT");
    expect((await t.done).code).toBe(0);
    expect((await w.done).code).toBe(0);
  });
});
