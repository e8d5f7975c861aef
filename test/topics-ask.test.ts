/**
 * Topics (fan-out to named subscribers, with crash recovery), ask / send --wait, cancel, reply_to
 * delivery and the @self / @parent inbox addresses — through the built CLI as real child processes, with
 * real `abq watch` handlers, real SIGKILLs (ABQ_CRASH_AT) and real git repositories.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { inboxName, send as libSend } from "../src/index.ts";
import { CLI, makeBus, makeRepo, parseJson, startNode, tempDir, until, type Bus, type RunResult } from "./helpers.ts";

interface Msg {
  id: string;
  type: string;
  content: string;
  to: string;
  reply_to?: string;
  in_reply_to?: string;
  from: { agent: string; pid: number; pwd: string };
}

interface Answer {
  id: string;
  status: string;
  result: string;
  error: string | null;
  from: { agent: string; pid: number };
  timestamp: string;
}

const chan = (bus: Bus, ...parts: string[]): string => join(bus.home, "channels", ...parts);

/** Entries of a folder (sorted), or [] when it does not exist. */
const ls = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** A subscriber's queue folder inside a topic. */
const subDir = (bus: Bus, topic: string, name: string, state: string): string =>
  chan(bus, topic, "subscribers", name, state);

/** An executable /bin/sh script in the bus's scratch folder. */
function script(bus: Bus, name: string, body: string): string {
  const path = join(bus.root, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** `abq watch <args>` in the background; stopped (SIGINT, graceful) by `stop()`, SIGKILLed if the test ends first. */
function watch(
  bus: Bus,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { stderr: () => string; stop: () => Promise<RunResult>; done: Promise<RunResult> } {
  const { child, done } = startNode([CLI, "watch", ...args], {
    env: { ...bus.env, ...opts.env },
    cwd: opts.cwd ?? bus.root,
    timeoutMs: 180_000,
  });
  let stderr = "";
  child.stderr!.on("data", (d: string) => (stderr += d));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return {
    stderr: () => stderr,
    done,
    stop: async () => {
      child.kill("SIGINT");
      return done;
    },
  };
}

/** Claims with `abq recv <args> --json` until the queue is empty (exit 4); returns the contents in order. */
async function drain(bus: Bus, args: string[]): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const r = await bus.abq(["recv", ...args, "--json"]);
    if (r.code === 4) return got;
    expect(r.code, r.stderr).toBe(0);
    got.push(parseJson<Msg>(r.stdout).content);
  }
}

/** Every request file of one message id in a queue, in any lifecycle state (answers and reasons aside). */
function copiesOf(queueDir: string, id: string): string[] {
  const found: string[] = [];
  for (const state of ["requests", "processing", "archive", "rejected", "fanout"]) {
    for (const name of ls(join(queueDir, state))) {
      if (name.startsWith(id) && !/_(response|reason)\.json$/.test(name)) found.push(`${state}/${name}`);
    }
  }
  return found;
}

/** Every message id in a queue, in any lifecycle state (a reply delivered twice would show up twice). */
function messagesIn(queueDir: string): string[] {
  const ids: string[] = [];
  for (const state of ["requests", "processing", "fanout"]) {
    for (const name of ls(join(queueDir, state))) if (name.endsWith(".json")) ids.push(name.slice(0, -5));
  }
  for (const name of ls(join(queueDir, "archive"))) {
    if (name.endsWith("_request.json")) ids.push(name.slice(0, -"_request.json".length));
  }
  return ids.sort();
}

const backdate = (path: string, seconds: number): void => {
  const past = new Date(Date.now() - seconds * 1000);
  utimesSync(path, past, past);
};

describe("ask and send --wait", () => {
  it("answered by a watcher: exit 0, stdout is the handler's result, the answer is archived as read", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "jobs"])).code).toBe(0);
    const handler = script(bus, "ok.sh", `printf 'result:%s' "$ABQ_MSG_CONTENT"`);
    const watcher = watch(bus, ["jobs", "--handler", handler]);

    const asked = await bus.abq(["ask", "jobs", "command", "hello", "--timeout", "30"]);
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout).toBe("result:hello\n");

    // send --wait --json: exactly one JSON document on stdout, the response.
    const waited = await bus.abq(["send", "jobs", "command", "again", "--wait", "--json", "--timeout", "30"]);
    expect(waited.code, waited.stderr).toBe(0);
    const lines = waited.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    const response = parseJson<Answer>(lines[0]!);
    expect(response).toMatchObject({ status: "success", result: "result:again", error: null });
    expect(response.id).toMatch(/^req_[0-9a-f]+$/);

    // Read once: the answer moved from responses/ to archive/<id>_response.json.
    expect(ls(chan(bus, "jobs", "responses"))).toEqual([]);
    const archived = ls(chan(bus, "jobs", "archive"));
    expect(archived).toContain(`${response.id}_response.json`);
    expect(archived).toContain(`${response.id}_request.json`);
    expect(archived.filter((n) => n.endsWith("_response.json"))).toHaveLength(2);
    expect(
      parseJson<Answer>(readFileSync(chan(bus, "jobs", "archive", `${response.id}_response.json`), "utf8")),
    ).toMatchObject({ id: response.id, result: "result:again" });

    const stopped = await watcher.stop();
    expect(stopped.code, stopped.stderr).toBe(0);
  });

  it("an error answer: exit 8, stderr names the handler's error, --json prints the whole error response", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "fail"]);
    const handler = script(bus, "boom.sh", "echo boom >&2\nexit 1");
    const watcher = watch(bus, ["fail", "--handler", handler]);

    const asked = await bus.abq(["ask", "fail", "command", "x", "--timeout", "30"]);
    expect(asked.code, asked.stderr).toBe(8);
    expect(asked.stderr).toMatch(/boom/);
    expect(asked.stdout).toBe("");

    const json = await bus.abq(["ask", "fail", "command", "y", "--timeout", "30", "--json"]);
    expect(json.code, json.stderr).toBe(8);
    const lines = json.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    const response = parseJson<Answer>(lines[0]!);
    expect(response.status).toBe("error");
    expect(response.error).toMatch(/boom/);

    const waited = await bus.abq(["send", "fail", "command", "z", "--wait", "--timeout", "30"]);
    expect(waited.code).toBe(8);
    expect(waited.stderr).toMatch(/boom/);

    expect((await watcher.stop()).code).toBe(0);
  });

  it("no watcher: exit 5 naming `abq cancel`; the request stays queued and cancel archives it with a reason", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "lonely"]);
    const asked = await bus.abq(["ask", "lonely", "signal", "x", "--timeout", "0.5"]);
    expect(asked.code, asked.stderr).toBe(5);
    expect(asked.stderr).toMatch(/abq cancel lonely req_[0-9a-f]+/);
    const id = /abq cancel lonely (req_[0-9a-f]+)/.exec(asked.stderr)![1]!;
    expect(ls(chan(bus, "lonely", "requests"))).toEqual([`${id}.json`]);

    const cancelled = await bus.abq(["cancel", "lonely", id]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(ls(chan(bus, "lonely", "requests"))).toEqual([]);
    expect(ls(chan(bus, "lonely", "archive"))).toEqual([`${id}_reason.json`, `${id}_request.json`]);
    expect(readFileSync(chan(bus, "lonely", "archive", `${id}_reason.json`), "utf8")).toMatch(/cancelled/);
    expect((await bus.abq(["recv", "lonely"])).code).toBe(4);
  });

  it("a pending note does not end the wait; the final answer does", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "slow"]);
    const { child, done } = startNode([CLI, "ask", "slow", "command", "work", "--timeout", "60"], {
      env: bus.env,
      cwd: bus.root,
      timeoutMs: 90_000,
    });
    let stderr = "";
    child.stderr!.on("data", (d: string) => (stderr += d));
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });

    await until(() => ls(chan(bus, "slow", "requests")).length === 1);
    const claimed = await bus.abq(["recv", "slow", "--json"]);
    expect(claimed.code, claimed.stderr).toBe(0);
    const id = parseJson<Msg>(claimed.stdout).id;

    const note = await bus.abq(["respond", "slow", id, "-s", "pending", "-r", "half"]);
    expect(note.code, note.stderr).toBe(0);
    await until(() => stderr.includes("half"), 20_000);
    expect(child.exitCode).toBeNull(); // still waiting after the progress note
    expect(ls(chan(bus, "slow", "processing"))).toEqual([`${id}.json`]);

    const final = await bus.abq(["respond", "slow", id, "-r", "full"]);
    expect(final.code, final.stderr).toBe(0);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("full\n");
    expect(r.stderr).toMatch(/pending: half/);
    expect(ls(chan(bus, "slow", "responses"))).toEqual([]);
    expect(ls(chan(bus, "slow", "archive"))).toEqual([`${id}_request.json`, `${id}_response.json`]);
  });

  it("an ask whose request is cancelled by another process ends promptly with exit 7", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "w"]);
    const { child, done } = startNode([CLI, "ask", "w", "command", "never", "--timeout", "60"], {
      env: bus.env,
      cwd: bus.root,
      timeoutMs: 90_000,
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    await until(() => ls(chan(bus, "w", "requests")).length === 1);
    const id = ls(chan(bus, "w", "requests"))[0]!.replace(/\.json$/, "");

    const cancelled = await bus.abq(["cancel", "w", id]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    const at = Date.now();
    const r = await done;
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/cancelled/);
    expect(Date.now() - at).toBeLessThan(10_000); // far sooner than its 60 s timeout
  });
});

describe("cancel", () => {
  it("claimed → 7, unknown id → 3, bad id → 2", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const sent = parseJson<Msg>((await bus.abq(["send", "c", "command", "x", "--json"])).stdout);
    expect((await bus.abq(["recv", "c"])).code).toBe(0);

    const claimed = await bus.abq(["cancel", "c", sent.id]);
    expect(claimed.code).toBe(7);
    expect(claimed.stderr).toMatch(/claimed/);
    expect(ls(chan(bus, "c", "processing"))).toEqual([`${sent.id}.json`]);

    const unknown = await bus.abq(["cancel", "c", "req_0123456789abcdef0123456789abcdef"]);
    expect(unknown.code).toBe(3);
    const bad = await bus.abq(["cancel", "c", "not-an-id"]);
    expect(bad.code).toBe(2);
    expect((await bus.abq(["cancel", "nochannel", sent.id])).code).toBe(3);
  });
});

describe("reply_to", () => {
  it("respond delivers the answer as a status message to the reply channel, created on first use", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "work"]);
    const sent = await bus.abq(["send", "work", "command", "x", "--reply-to", "inbox-a", "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const request = parseJson<Msg>(sent.stdout);
    expect(request.reply_to).toBe("inbox-a");

    expect((await bus.abq(["recv", "work"])).code).toBe(0);
    const responded = await bus.abq(["respond", "work", request.id, "-r", "done", "--json"]);
    expect(responded.code, responded.stderr).toBe(0);
    const response = parseJson<Answer>(responded.stdout);

    expect(existsSync(chan(bus, "inbox-a", "requests"))).toBe(true);
    const got = await bus.abq(["recv", "inbox-a", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    const reply = parseJson<Msg>(got.stdout);
    expect(reply.type).toBe("status");
    expect(reply.in_reply_to).toBe(request.id);
    expect(reply.to).toBe("inbox-a");
    expect(JSON.parse(reply.content)).toEqual(response);
    expect((await bus.abq(["recv", "inbox-a"])).code).toBe(4);
  });

  it("a watcher's answer is delivered to the reply channel too", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "work"]);
    const handler = script(bus, "h.sh", `printf 'handled %s' "$ABQ_MSG_CONTENT"`);
    const watcher = watch(bus, ["work", "--handler", handler]);
    const request = parseJson<Msg>(
      (await bus.abq(["send", "work", "command", "y", "--reply-to", "inbox-b", "--json"])).stdout,
    );
    await until(() => ls(chan(bus, "inbox-b", "requests")).length === 1, 20_000);
    const [file] = ls(chan(bus, "inbox-b", "requests"));
    const reply = parseJson<Msg>(readFileSync(chan(bus, "inbox-b", "requests", file!), "utf8"));
    expect(reply).toMatchObject({ type: "status", in_reply_to: request.id });
    expect(parseJson<Answer>(reply.content)).toMatchObject({ id: request.id, status: "success", result: "handled y" });
    expect((await watcher.stop()).code).toBe(0);
    expect(messagesIn(chan(bus, "inbox-b"))).toHaveLength(1);
  });

  it("a respond killed after answering: the next respond delivers exactly one reply, repeated ones none", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "work"]);
    const request = parseJson<Msg>(
      (await bus.abq(["send", "work", "command", "x", "--reply-to", "inbox-a", "--json"])).stdout,
    );
    expect((await bus.abq(["recv", "work"])).code).toBe(0);

    const killed = await bus.abq(["respond", "work", request.id, "-r", "first"], {
      env: { ABQ_CRASH_AT: "respond:answered" },
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(ls(chan(bus, "work", "responses"))).toEqual([`${request.id}.json`]);
    expect(ls(chan(bus, "work", "processing"))).toEqual([`${request.id}.json`]);
    expect(messagesIn(chan(bus, "inbox-a"))).toEqual([]); // the reply was not delivered yet

    const second = await bus.abq(["respond", "work", request.id, "-r", "second"]);
    expect(second.code).toBe(7);
    expect(ls(chan(bus, "work", "processing"))).toEqual([]);
    expect(ls(chan(bus, "work", "archive"))).toEqual([`${request.id}_request.json`]);
    const replies = messagesIn(chan(bus, "inbox-a"));
    expect(replies).toHaveLength(1);

    for (let i = 0; i < 2; i++) {
      const again = await bus.abq(["respond", "work", request.id, "-r", `again-${i}`]);
      expect(again.code).toBe(7);
      expect(messagesIn(chan(bus, "inbox-a"))).toEqual(replies);
    }

    const got = await bus.abq(["recv", "inbox-a", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    const reply = parseJson<Msg>(got.stdout);
    expect(reply).toMatchObject({ type: "status", in_reply_to: request.id });
    expect(parseJson<Answer>(reply.content)).toMatchObject({ id: request.id, status: "success", result: "first" });
    // Even once the reply has been received (claimed), another respond does not deliver it again.
    expect((await bus.abq(["respond", "work", request.id, "-r", "late"])).code).toBe(7);
    expect((await bus.abq(["recv", "inbox-a"])).code).toBe(4);
    expect(messagesIn(chan(bus, "inbox-a"))).toEqual(replies);
  });
});

describe("@self and @parent", () => {
  const SELF = "inbox.github.com.acme.app.feature-x";
  const PARENT = "inbox.github.com.acme.app.main";

  it("map to the git identity's inbox channels, created on first use; @self can be asked and answered", async () => {
    const bus = makeBus();
    const repo = makeRepo(tempDir("abq-repo-"), { branch: "feature-x", remote: "https://github.com/acme/app.git" });
    const cwd = join(repo, "src");
    mkdirSync(cwd);
    const gitEnv = { ABQ_AGENT: "" };

    const sent = await bus.abq(["send", "@self", "signal", "hi", "--json"], { cwd, env: gitEnv });
    expect(sent.code, sent.stderr).toBe(0);
    expect(parseJson<Msg>(sent.stdout)).toMatchObject({ to: SELF, from: { agent: "github.com/acme/app/feature-x" } });
    expect(ls(chan(bus, SELF, "requests"))).toHaveLength(1);

    const got = await bus.abq(["recv", "@self", "--json"], { cwd, env: gitEnv });
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson<Msg>(got.stdout)).toMatchObject({ content: "hi", to: SELF });

    const up = await bus.abq(["send", "@parent", "signal", "ready for review"], { cwd, env: gitEnv });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(PARENT);
    expect(ls(chan(bus, PARENT, "requests"))).toHaveLength(1);
    const parentGot = await bus.abq(["recv", PARENT, "--json"]);
    expect(parseJson<Msg>(parentGot.stdout)).toMatchObject({ content: "ready for review" });

    // A watcher on @self (same repo) answers an ask addressed to @self.
    const handler = script(bus, "self.sh", `printf 'answer:%s' "$ABQ_MSG_CONTENT"`);
    const watcher = watch(bus, ["@self", "--handler", handler], { cwd, env: gitEnv });
    const asked = await bus.abq(["send", "@self", "signal", "q", "--wait", "--timeout", "10"], { cwd, env: gitEnv });
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout).toBe("answer:q\n");
    const askedAgain = await bus.abq(["ask", "@self", "signal", "q2", "--timeout", "10"], { cwd, env: gitEnv });
    expect(askedAgain.code, askedAgain.stderr).toBe(0);
    expect(askedAgain.stdout).toBe("answer:q2\n");
    expect((await watcher.stop()).code).toBe(0);
  });

  it("with ABQ_AGENT set, @parent needs ABQ_PARENT (usage error without it)", async () => {
    const bus = makeBus();
    const noParent = await bus.abq(["send", "@parent", "signal", "x"], { env: { ABQ_PARENT: "" } });
    expect(noParent.code).toBe(2);
    expect(noParent.stderr).toMatch(/ABQ_PARENT/);

    const withParent = await bus.abq(["send", "@parent", "signal", "x", "--json"], {
      env: { ABQ_PARENT: "github.com/acme/app/main" },
    });
    expect(withParent.code, withParent.stderr).toBe(0);
    expect(parseJson<Msg>(withParent.stdout).to).toBe(PARENT);

    const self = await bus.abq(["send", "@self", "signal", "x", "--json"]);
    expect(self.code, self.stderr).toBe(0);
    expect(parseJson<Msg>(self.stdout).to).toBe("inbox.test.agent");
  });

  it("inboxName keeps long agents valid, short and distinct", () => {
    const pattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
    const base = `github.com/some-org/${"very-long-repository-name-".repeat(6)}/feature/`;
    const a = inboxName(`${base}branch-one`);
    const b = inboxName(`${base}branch-two`);
    for (const name of [a, b]) {
      expect(name.length).toBeLessThanOrEqual(64);
      expect(name).toMatch(pattern);
      expect(name).not.toContain("..");
    }
    expect(a).not.toBe(b);
    const weird = inboxName(`GitHub.com//ACME/App/Feat ure/..//${"x".repeat(200)}/`);
    expect(weird.length).toBeLessThanOrEqual(64);
    expect(weird).toMatch(pattern);
    expect(weird).not.toContain("..");
    expect(inboxName("github.com/acme/app/feature-x")).toBe("inbox.github.com.acme.app.feature-x");
  });
});

describe("topics", () => {
  it(
    "every subscriber gets every message once, in order; late subscribers only later ones; anonymous consumers share one copy",
    { timeout: 300_000 },
    async () => {
      const bus = makeBus();
      expect((await bus.abq(["channel", "create", "news", "--topic"])).code).toBe(0);
      expect((await bus.abq(["channel", "create", "queuechan"])).code).toBe(0);
      for (const name of ["alice", "bob", "carol"]) {
        const r = await bus.abq(["subscribe", "news", name]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(`Subscribed: ${name} -> news\n`);
      }
      const again = await bus.abq(["subscribe", "news", "alice"]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/already subscribed/i);

      const first = Array.from({ length: 50 }, (_, i) => `m${String(i).padStart(2, "0")}`);
      const ids: string[] = [];
      for (const content of first) {
        ids.push((await libSend({ channel: "news", type: "signal", content, home: bus.home })).id);
      }
      expect(ls(chan(bus, "news", "fanout"))).toEqual([]);
      expect(ls(chan(bus, "news", "requests"))).toHaveLength(50);

      // Every copy is its own read-only inode: the shared one and one per subscriber.
      for (const id of [ids[0]!, ids[49]!]) {
        const shared = statSync(chan(bus, "news", "requests", `${id}.json`));
        expect(shared.nlink).toBe(1);
        expect(shared.mode & 0o777).toBe(0o400);
        for (const name of ["alice", "bob", "carol"]) {
          const copy = statSync(join(subDir(bus, "news", name, "requests"), `${id}.json`));
          expect(copy.ino).not.toBe(shared.ino);
          expect(copy.nlink).toBe(1);
          expect(copy.mode & 0o777).toBe(0o400);
        }
      }

      // status --json: one row per subscriber; channel info: kind and subscribers.
      const status = parseJson<{ channels: { name: string; subscriber?: string; pending: number }[] }>(
        (await bus.abq(["status", "--json"])).stdout,
      );
      const rows = status.channels.filter((c) => c.name === "news" && c.subscriber !== undefined);
      expect(rows.map((r) => r.subscriber).sort()).toEqual(["alice", "bob", "carol"]);
      for (const row of rows) expect(row.pending).toBe(50);
      const info = await bus.abq(["channel", "info", "news"]);
      expect(info.code, info.stderr).toBe(0);
      expect(info.stdout).toMatch(/Kind:\s+topic/);
      expect(info.stdout).toMatch(/Subscribers:\s+alice, bob, carol/);
      const infoJson = parseJson<{ kind: string; subscribers: string[] }>(
        (await bus.abq(["channel", "info", "news", "--json"])).stdout,
      );
      expect(infoJson).toMatchObject({ kind: "topic", subscribers: ["alice", "bob", "carol"] });

      // A late subscriber gets only what is published after it subscribed.
      expect((await bus.abq(["subscribe", "news", "dave"])).code).toBe(0);
      const late = Array.from({ length: 5 }, (_, i) => `late${i}`);
      for (const content of late) await libSend({ channel: "news", type: "signal", content, home: bus.home });
      const all = [...first, ...late];

      // bob and carol through watchers (--once), alice and dave through recv loops, two anonymous loops competing.
      const handler = script(
        bus,
        "record.sh",
        `printf '%s:%s\\n' "$ABQ_SUBSCRIBER" "$ABQ_MSG_CONTENT" >> "${bus.root}/$ABQ_SUBSCRIBER.log"`,
      );
      const onceAs = (name: string): Promise<RunResult> =>
        startNode([CLI, "watch", "news", "--as", name, "--once", "--handler", handler], {
          env: bus.env,
          cwd: bus.root,
          timeoutMs: 240_000,
        }).done;
      const [alice, dave, anon1, anon2, bobRun, carolRun] = await Promise.all([
        drain(bus, ["news", "--as", "alice"]),
        drain(bus, ["news", "--as", "dave"]),
        drain(bus, ["news"]),
        drain(bus, ["news"]),
        onceAs("bob"),
        onceAs("carol"),
      ]);
      expect(alice).toEqual(all);
      expect(dave).toEqual(late);
      for (const [name, run] of [
        ["bob", bobRun],
        ["carol", carolRun],
      ] as const) {
        expect(run.code, run.stderr).toBe(0);
        expect(readFileSync(join(bus.root, `${name}.log`), "utf8")).toBe(all.map((c) => `${name}:${c}\n`).join(""));
      }
      expect([...anon1, ...anon2].sort()).toEqual([...all].sort());
      expect(anon1.length + anon2.length).toBe(all.length);
      // carol's watcher answered each of her copies: requests archived, answers waiting in her responses/.
      expect(ls(subDir(bus, "news", "carol", "archive"))).toHaveLength(all.length);
      expect(ls(subDir(bus, "news", "carol", "responses"))).toHaveLength(all.length);

      for (const name of ["alice", "bob", "carol", "dave"]) {
        expect((await bus.abq(["recv", "news", "--as", name])).code).toBe(4);
      }
      expect((await bus.abq(["recv", "news"])).code).toBe(4);

      // Errors: --as on a queue, a name that never subscribed.
      const onQueue = await bus.abq(["recv", "queuechan", "--as", "alice"]);
      expect(onQueue.code).toBe(2);
      expect(onQueue.stderr).toMatch(/not a topic/);
      const nobody = await bus.abq(["recv", "news", "--as", "nobody"]);
      expect(nobody.code).toBe(3);
      expect(nobody.stderr).toMatch(/abq subscribe news nobody/);

      // Unsubscribe removes the subscriber's queue; it no longer gets copies.
      const unsub = await bus.abq(["unsubscribe", "news", "bob"]);
      expect(unsub.code, unsub.stderr).toBe(0);
      expect(ls(chan(bus, "news", "subscribers"))).toEqual(["alice", "carol", "dave"]);
      expect((await bus.abq(["channel", "info", "news"])).stdout).toMatch(/Subscribers:\s+alice, carol, dave/);
      await libSend({ channel: "news", type: "signal", content: "after-bob", home: bus.home });
      expect((await bus.abq(["recv", "news", "--as", "bob"])).code).toBe(3);
      expect(await drain(bus, ["news", "--as", "alice"])).toEqual(["after-bob"]);
    },
  );

  it("a publisher killed after committing: recovery fans out exactly once, even when run again", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "news", "--topic"]);
    for (const name of ["alice", "bob", "carol"]) expect((await bus.abq(["subscribe", "news", name])).code).toBe(0);

    const crashed = await bus.abq(["send", "news", "signal", "crashy"], {
      env: { ABQ_CRASH_AT: "publish:committed" },
    });
    expect(crashed.signal).toBe("SIGKILL");
    const fanout = ls(chan(bus, "news", "fanout"));
    expect(fanout).toHaveLength(1);
    const file = fanout[0]!;
    const id = file.replace(/\.json$/, "");
    for (const name of ["alice", "bob", "carol"]) expect(ls(subDir(bus, "news", name, "requests"))).toEqual([]);
    expect(ls(chan(bus, "news", "requests"))).toEqual([]);

    // Make the fan-out look abandoned (older than a live publisher would take), then let a claim recover it.
    backdate(chan(bus, "news", "fanout", file), 10);
    const aliceGot = await bus.abq(["recv", "news", "--as", "alice", "--json"]);
    expect(aliceGot.code, aliceGot.stderr).toBe(0);
    expect(parseJson<Msg>(aliceGot.stdout)).toMatchObject({ id, content: "crashy" });
    expect(ls(chan(bus, "news", "fanout"))).toEqual([]);
    expect(ls(chan(bus, "news", "requests"))).toEqual([file]);
    for (const name of ["bob", "carol"]) expect(ls(subDir(bus, "news", name, "requests"))).toEqual([file]);
    expect((await bus.abq(["respond", "news", id, "--as", "alice", "-r", "seen"])).code).toBe(0);

    // Recovery running again over the same message (as if the first recovery died before its final
    // rename) after alice already answered hers: nobody gets a second copy.
    renameSync(chan(bus, "news", "requests", file), chan(bus, "news", "fanout", file));
    backdate(chan(bus, "news", "fanout", file), 10);
    const bobGot = await bus.abq(["recv", "news", "--as", "bob", "--json"]);
    expect(bobGot.code, bobGot.stderr).toBe(0);
    expect(parseJson<Msg>(bobGot.stdout)).toMatchObject({ id, content: "crashy" });
    expect(ls(chan(bus, "news", "fanout"))).toEqual([]);
    const carolGot = await bus.abq(["recv", "news", "--as", "carol", "--json"]);
    expect(carolGot.code, carolGot.stderr).toBe(0);
    expect(parseJson<Msg>(carolGot.stdout)).toMatchObject({ id, content: "crashy" });

    for (const name of ["alice", "bob", "carol"]) {
      expect((await bus.abq(["recv", "news", "--as", name])).code).toBe(4);
    }
    expect(copiesOf(chan(bus, "news", "subscribers", "alice"), id)).toEqual([`archive/${id}_request.json`]);
    expect(copiesOf(chan(bus, "news", "subscribers", "bob"), id)).toEqual([`processing/${file}`]);
    expect(copiesOf(chan(bus, "news", "subscribers", "carol"), id)).toEqual([`processing/${file}`]);

    // The shared copy is there exactly once for anonymous consumers.
    expect(ls(chan(bus, "news", "requests"))).toEqual([file]);
    expect(await drain(bus, ["news"])).toEqual(["crashy"]);
  });

  it("a subscriber added after a crashed publish does not get that message on recovery", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "news", "--topic"]);
    expect((await bus.abq(["subscribe", "news", "alice"])).code).toBe(0);
    const crashed = await bus.abq(["send", "news", "signal", "before-erin"], {
      env: { ABQ_CRASH_AT: "publish:committed" },
    });
    expect(crashed.signal).toBe("SIGKILL");
    const [file] = ls(chan(bus, "news", "fanout"));
    // erin subscribes after the commit; subscribe itself runs recovery, but the fan-out is still fresh.
    await until(() => Date.now() - statSync(chan(bus, "news", "fanout", file!)).mtimeMs > 50);
    expect((await bus.abq(["subscribe", "news", "erin"])).code).toBe(0);
    // Under heavy load subscribe may already have found the fan-out stale and recovered it; either way:
    const pending = chan(bus, "news", "fanout", file!);
    if (existsSync(pending)) backdate(pending, 10);
    expect(await drain(bus, ["news", "--as", "alice"])).toEqual(["before-erin"]);
    expect(await drain(bus, ["news", "--as", "erin"])).toEqual([]);
  });
});
