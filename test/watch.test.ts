/**
 * `abq watch` with real handler scripts and real watcher processes: outcomes, competing watchers,
 * the startup backlog, lost file events, graceful and forced stops, and no leaked timers or listeners.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createWatcher, FsTransport, send, type Transport } from "../src/index.ts";
import { CLI, LIB, makeBus, parseJson, runNode, startNode, tempDir, until, type Bus } from "./helpers.ts";

const HANDLERS = join(import.meta.dirname, "fixtures", "handlers");
const FIXTURES = join(import.meta.dirname, "fixtures");
const dir = (bus: Bus, ch: string, sub: string): string[] => readdirSync(join(bus.home, "channels", ch, sub)).sort();

interface Shown {
  state: string;
  response?: { status: string; result: string; error: string | null };
}

async function shown(bus: Bus, id: string): Promise<Shown> {
  return parseJson<Shown>((await bus.abq(["show", id, "--json"])).stdout);
}

async function sendOne(bus: Bus, ch: string, content: string, type = "command"): Promise<string> {
  const r = await bus.abq(["send", ch, type, content, "--json", "--create"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("handler outcomes", () => {
  it("exit 0 answers success with stdout; other exits answer error with stderr; messages waiting at start go oldest first", async () => {
    const bus = makeBus();
    const ok = await sendOne(bus, "c", "0");
    const failed = await sendOne(bus, "c", "3");
    const r = await bus.abq(["watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--once"]);
    expect(r.code, r.stderr).toBe(0);
    // One log line per handled message on stderr: id, type, from, status, ms — in send order.
    const lines = r.stderr.split("\n").filter((l) => l.includes(" command "));
    expect(lines[0]).toMatch(new RegExp(`${ok} command test/agent success \\d+ms`));
    expect(lines[1]).toMatch(new RegExp(`${failed} command test/agent error \\d+ms`));
    expect((await shown(bus, ok)).response).toMatchObject({ status: "success", result: "out:0", error: null });
    expect((await shown(bus, failed)).response).toMatchObject({ status: "error", result: "out:3", error: "err:3" });
    expect(dir(bus, "c", "processing")).toEqual([]);
  });

  it("--json prints NDJSON events on stdout", async () => {
    const bus = makeBus();
    const id = await sendOne(bus, "c", "0");
    const r = await bus.abq(["watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--once", "--json"]);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<{ type: string; id?: string; status?: string }>(l));
    expect(events.map((e) => e.type)).toEqual(["started", "handled", "stopped"]);
    expect(events[1]).toMatchObject({ id, status: "success", msg_type: "command", from: "test/agent", attempt: 1 });
    expect(r.stderr).toBe("");
  });

  it("a handler past --timeout is killed with its children and answered error", async () => {
    const bus = makeBus();
    const pids = tempDir();
    const id = await sendOne(bus, "c", "x");
    const r = await bus.abq(["watch", "c", "--handler", join(HANDLERS, "spawner.sh"), "--timeout", "0.5", "--once"], {
      env: { PID_DIR: pids },
    });
    expect(r.code, r.stderr).toBe(0);
    const answer = (await shown(bus, id)).response;
    expect(answer?.status).toBe("error");
    expect(answer?.error).toMatch(/timed out after 0.5s/);
    const child = Number(readFileSync(join(pids, "child"), "utf8"));
    const handler = Number(readFileSync(join(pids, "handler"), "utf8"));
    await until(() => !alive(child) && !alive(handler), 5000);
  });

  it("a handler that cannot be started consumes nothing: exit 2 before or during the run", async () => {
    const bus = makeBus();
    const id = await sendOne(bus, "c", "x");
    const missing = await bus.abq(["watch", "c", "--handler", "./no-such-handler", "--once"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/no-such-handler.*not found/);
    // A command line whose program vanishes is only found out at run time: the message goes back.
    const vanished = await bus.abq(["watch", "c", "--handler", "nonexistent-program-xyz --flag", "--once"]);
    expect(vanished.code).toBe(2);
    expect(vanished.stderr).toMatch(/cannot be started|not found/);
    expect(dir(bus, "c", "requests")).toEqual([`${id}.json`]);
    expect(dir(bus, "c", "responses")).toEqual([]);
  });

  it("exit 75 gives the message back with its attempt count raised, after the channel's backoff", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c", "--backoff", "2"]);
    const id = await sendOne(bus, "c", "75");
    const r = await bus.abq(["watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--once", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"status":"retry"');
    // Waiting out its backoff in delayed/ (due time = the file's mtime), not offered yet.
    expect(dir(bus, "c", "delayed")).toEqual([`${id}.json`]);
    const stored = parseJson<{ attempts: number }>(
      readFileSync(join(bus.home, "channels", "c", "delayed", `${id}.json`), "utf8"),
    );
    expect(stored.attempts).toBe(1);
    // Not offered before it is due (checked only while it surely is not: a loaded machine may be slow).
    const due = statSync(join(bus.home, "channels", "c", "delayed", `${id}.json`)).mtimeMs;
    const early = await bus.abq(["recv", "c", "--json"]);
    if (Date.now() < due - 200) expect(early.code).toBe(4);
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 100));
    const again = early.code === 0 ? early : await bus.abq(["recv", "c", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(parseJson<{ id: string; attempts: number }>(again.stdout)).toMatchObject({ id, attempts: 1 });
    expect(dir(bus, "c", "responses")).toEqual([]);
  });

  it("past max_attempts the message is dead-lettered with its last error; requeue --from-dead revives it", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c", "--backoff", "0", "--max-attempts", "2", "--retry-errors"]);
    const id = await sendOne(bus, "c", "3");
    for (let i = 0; i < 2; i++) {
      const r = await bus.abq(["watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--once"]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(dir(bus, "c", "dead")).toEqual([`${id}.json`, `${id}.reason.json`]);
    const reason = parseJson<Record<string, unknown>>(
      readFileSync(join(bus.home, "channels", "c", "dead", `${id}.reason.json`), "utf8"),
    );
    expect(reason).toMatchObject({ id, attempts: 2, max_attempts: 2, exit_code: 3, reason: "handler failed" });
    expect(String(reason["stderr_tail"])).toContain("err:3");
    const listed = await bus.abq(["dead", "c"]);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+attempts 2\\s+exit 3`));
    expect(dir(bus, "c", "responses")).toEqual([]); // never answered: it failed, it did not succeed
    const revived = await bus.abq(["requeue", "c", "--from-dead", "--json"]);
    expect(parseJson(revived.stdout)).toMatchObject({ id, action: "requeued" });
    const back = parseJson<Record<string, unknown>>((await bus.abq(["recv", "c", "--json"])).stdout);
    expect(back["id"]).toBe(id);
    expect(back["attempts"]).toBeUndefined();
    const trace = (await bus.abq(["trace", id])).stdout;
    for (const e of ["sent", "claimed", "requeued", "dead", "revived"]) expect(trace).toContain(` ${e} `);
  });
});

describe("competing watchers", () => {
  it.each([2, 4])(
    "%i watcher processes × 1500 messages: each handled exactly once, none crashes",
    async (n) => {
      const bus = makeBus({ ABQ_FSYNC: "0" });
      await bus.abq(["channel", "create", "work"]);
      const records = tempDir();
      const watchers = Array.from({ length: n }, (_, i) =>
        startNode([CLI, "watch", "work", "--handler", join(HANDLERS, "record.sh"), "-j", "2"], {
          env: { ...bus.env, RECORD_FILE: join(records, `w${i}`) },
          timeoutMs: 170_000,
        }),
      );
      const sent = await runNode(
        [join(FIXTURES, "send-many.mjs"), LIB, bus.home, "work", "1500", "20", join(bus.root, "m")],
        {
          env: bus.env,
          timeoutMs: 60_000,
        },
      );
      expect(sent.code, sent.stderr).toBe(0);
      await until(() => dir(bus, "work", "responses").length === 1500, 150_000);
      for (const w of watchers) w.child.kill("SIGTERM");
      const results = await Promise.all(watchers.map((w) => w.done));
      for (const r of results) expect(r.code, r.stderr).toBe(0); // graceful exit, no crash

      const handled = readdirSync(records).flatMap((f) => readFileSync(join(records, f), "utf8").trim().split("\n"));
      expect(handled).toHaveLength(1500);
      expect(new Set(handled).size).toBe(1500);
      expect(results.filter((r) => /success/.test(r.stderr)).length).toBeGreaterThan(1); // the work was shared
      expect(dir(bus, "work", "requests")).toEqual([]);
      expect(dir(bus, "work", "processing")).toEqual([]);
    },
    180_000,
  );
});

describe("wake-ups", () => {
  it("a message sent while the watcher runs is handled promptly (file events)", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const w = startNode([CLI, "watch", "c", "--handler", join(HANDLERS, "exit-code.sh")], { env: bus.env });
    await until(() => w.child.pid !== undefined && existsSync(join(bus.home, "channels", "c")), 5000);
    await new Promise((r) => setTimeout(r, 300));
    const id = await sendOne(bus, "c", "0");
    await until(async () => (await shown(bus, id)).state === "done", 10_000);
    w.child.kill("SIGINT");
    expect((await w.done).code).toBe(0);
  });

  it("messages whose file events were lost (inotify queue overflowed while paused) are picked up by the backstop", async () => {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    await bus.abq(["channel", "create", "c"]);
    const w = startNode([CLI, "watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--json"], { env: bus.env });
    await until(() => w.child.pid !== undefined, 5000);
    await new Promise((r) => setTimeout(r, 500));
    w.child.kill("SIGSTOP");
    // Flood the folder with >16384 events (ignored dot-files), so the kernel drops what follows.
    const requests = join(bus.home, "channels", "c", "requests");
    for (let i = 0; i < 6000; i++) {
      const f = join(requests, `.noise-${i}`);
      writeFileSync(f, "x");
      unlinkSync(f);
    }
    const id = await sendOne(bus, "c", "0");
    w.child.kill("SIGCONT");
    await until(async () => (await shown(bus, id)).state === "done", 15_000);
    w.child.kill("SIGINT");
    expect((await w.done).code).toBe(0);
  });

  it("with file events silenced entirely, the backstop rescan still handles new messages (library)", async () => {
    const bus = makeBus();
    const real = new FsTransport({ home: bus.home });
    // The real spool, except that waits ignore file events: only the backstop timer can wake the watcher.
    const deaf: Transport = Object.assign(Object.create(real) as Transport, {
      waitForChange: (_c: string, ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
        }),
    });
    await real.createChannel("c");
    const watcher = await createWatcher({
      home: bus.home,
      transport: deaf,
      channel: "c",
      handler: join(HANDLERS, "exit-code.sh"),
    });
    const running = watcher.run();
    await new Promise((r) => setTimeout(r, 200));
    const msg = await send({ home: bus.home, channel: "c", type: "command", content: "0" });
    await until(() => existsSync(join(bus.home, "channels", "c", "responses", `${msg.id}.json`)), 5000);
    watcher.stop();
    expect(await running).toMatchObject({ handled: 1, succeeded: 1 });
  });

  it("--poll uses timed rescans only", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const w = startNode([CLI, "watch", "c", "--handler", join(HANDLERS, "exit-code.sh"), "--poll", "100", "--json"], {
      env: bus.env,
    });
    await new Promise((r) => setTimeout(r, 400));
    const id = await sendOne(bus, "c", "0");
    await until(async () => (await shown(bus, id)).state === "done", 10_000);
    w.child.kill("SIGINT");
    const out = await w.done;
    expect(out.stdout).toContain('"mode":"poll"');
  });
});

describe("stopping", () => {
  /** A watcher on channel `c` whose slow handler is running on one message (sleeping `seconds`). */
  async function busyWatcher(seconds: string, extraArgs: string[] = []) {
    const bus = makeBus();
    const started = tempDir();
    await bus.abq(["channel", "create", "c"]);
    const w = startNode([CLI, "watch", "c", "--handler", join(HANDLERS, "slow.sh"), ...extraArgs], {
      env: { ...bus.env, STARTED_DIR: started, SLEEP_SECONDS: seconds },
    });
    const id = await sendOne(bus, "c", "x");
    await until(() => existsSync(join(started, id)), 10_000);
    return { bus, w, id };
  }

  it("SIGTERM lets a running handler finish and answer, then exits 0", async () => {
    const { bus, w, id } = await busyWatcher("1");
    w.child.kill("SIGTERM");
    const out = await w.done;
    expect(out.code).toBe(0);
    expect((await shown(bus, id)).response).toMatchObject({ status: "success", result: "finished" });
  });

  it("past the grace period the handler is killed and its message goes back, unanswered", async () => {
    const { bus, w, id } = await busyWatcher("30", ["--grace", "0.3"]);
    w.child.kill("SIGINT");
    const out = await w.done;
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/put back/);
    expect(dir(bus, "c", "requests")).toEqual([`${id}.json`]);
    expect(dir(bus, "c", "responses")).toEqual([]);
  });

  it("a second signal stops at once", async () => {
    const { bus, w, id } = await busyWatcher("30");
    const t0 = Date.now();
    w.child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 200));
    w.child.kill("SIGINT");
    const out = await w.done;
    expect(out.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000); // not the 10 s grace, let alone the 30 s handler
    expect(dir(bus, "c", "requests")).toEqual([`${id}.json`]);
  });

  it("a SIGKILLed watcher leaves its message in processing/ for recovery", async () => {
    const { bus, w, id } = await busyWatcher("30");
    w.child.kill("SIGKILL");
    expect((await w.done).signal).toBe("SIGKILL");
    expect(dir(bus, "c", "processing")).toEqual([`${id}.json`]);
  });

  it("a stopped watcher leaves no timers, watches or signal listeners behind (library)", async () => {
    const bus = makeBus();
    await send({ home: bus.home, channel: "c", type: "command", content: "0", create: true });
    // Kinds a watcher creates: timers, fs watches, child processes. (Others belong to vitest itself.)
    const ours = (): string[] =>
      process
        .getActiveResourcesInfo()
        .filter((r) => ["Timeout", "FSEventWrap", "ProcessWrap", "StatWatcher"].includes(r))
        .sort();
    const before = ours();
    const sigint = process.listenerCount("SIGINT");
    const once = await createWatcher({
      home: bus.home,
      channel: "c",
      handler: join(HANDLERS, "exit-code.sh"),
      once: true,
    });
    expect(await once.run()).toMatchObject({ handled: 1 });
    const controller = new AbortController();
    const long = await createWatcher({
      home: bus.home,
      channel: "c",
      handler: join(HANDLERS, "exit-code.sh"),
      signal: controller.signal,
    });
    const running = long.run();
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await running;
    await new Promise((r) => setImmediate(r));
    const after = ours();
    // No kind is more numerous than before (vitest's own timers may come and go meanwhile).
    for (const kind of new Set(after)) {
      expect(after.filter((k) => k === kind).length).toBeLessThanOrEqual(before.filter((k) => k === kind).length);
    }
    expect(process.listenerCount("SIGINT")).toBe(sigint);
  });
});

describe("handlers that leave processes behind", () => {
  it("a handler's exit ends its run even if a background child still holds its stdout", async () => {
    const bus = makeBus();
    const id = await sendOne(bus, "c", "x");
    const handler = join(tempDir(), "bg.sh");
    writeFileSync(handler, "#!/bin/sh\nsleep 20 &\necho quick\n", { mode: 0o755 });
    const t0 = Date.now();
    const r = await bus.abq(["watch", "c", "--handler", handler, "--once"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await shown(bus, id)).response).toMatchObject({ status: "success", result: "quick" });
  });
});

describe("orphaned handlers", () => {
  it("when a SIGKILLed watcher's claim is taken back, its still-running handler (and children) are stopped", async () => {
    const bus = makeBus();
    const pids = tempDir();
    await bus.abq(["channel", "create", "c", "--backoff", "0"]);
    const w = startNode([CLI, "watch", "c", "--handler", join(HANDLERS, "spawner.sh")], {
      env: { ...bus.env, PID_DIR: pids },
    });
    const id = await sendOne(bus, "c", "x");
    await until(() => existsSync(join(pids, "handler")) && existsSync(join(pids, "child")), 10_000);
    const handler = Number(readFileSync(join(pids, "handler"), "utf8"));
    const child = Number(readFileSync(join(pids, "child"), "utf8"));
    // The lease names the handler's process group once it runs.
    await until(() =>
      readFileSync(join(bus.home, "channels", "c", "leases", `${id}.json`), "utf8").includes("handler_pgid"),
    );
    w.child.kill("SIGKILL");
    await w.done;
    expect(alive(handler)).toBe(true); // an orphan: its watcher is gone, it is not
    const r = await bus.abq(["requeue", "c", "--dead-owners", "--json"]);
    expect(parseJson(r.stdout)).toMatchObject({ id, action: "requeued", reason: "owner process is gone" });
    await until(() => !alive(handler) && !alive(child), 5000);
    expect(dir(bus, "c", "requests")).toEqual([`${id}.json`]);
  });
});
