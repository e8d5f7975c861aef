/**
 * Poison input must never block a channel in `abq watch`: a message the handler's environment cannot
 * carry is still handled (content via stdin and $1), a message the handler cannot even be started for is
 * a failed attempt that ends in dead/ with its reason, and no option or channel policy can overflow a
 * Node timer. Every message sent is accounted for: answered, dead with a reason, or pending.
 */
import { chmodSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createWatcher } from "../src/index.ts";
import { CLI, makeBus, parseJson, ROOT, startNode, until, type Bus } from "./helpers.ts";

const dir = (bus: Bus, ch: string, sub: string): string[] => readdirSync(join(bus.home, "channels", ch, sub)).sort();

interface Shown {
  state: string;
  reason?: Record<string, unknown>;
  response?: { status: string; result: string; error: string | null };
}

async function shown(bus: Bus, id: string): Promise<Shown> {
  return parseJson<Shown>((await bus.abq(["show", id, "--json"])).stdout);
}

async function sendOne(bus: Bus, ch: string, content: string): Promise<string> {
  // Through stdin: argv cannot carry a NUL byte, a pipe can.
  const r = await bus.abq(["send", ch, "command", "-", "--json", "--create"], { input: content });
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

/** A handler that answers with what it was given: the env marker, the env content, and whether stdin and $1 hold the content. */
function envHandler(bus: Bus): string {
  const path = join(bus.root, "env-handler.sh");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      'stdin=$(cat | wc -c | tr -d " ")',
      'file=$(wc -c < "$1" | tr -d " ")',
      'printf "%s|%s|%s|%s" "${ABQ_MSG_CONTENT_OMITTED-none}" "${ABQ_MSG_CONTENT-unset}" "$stdin" "$file"',
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

const events = (stdout: string): Array<Record<string, unknown>> =>
  stdout
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => parseJson(l));

describe("content the environment cannot carry", () => {
  it("a NUL byte: handled with ABQ_MSG_CONTENT unset and ABQ_MSG_CONTENT_OMITTED=nul; the next message too", async () => {
    const bus = makeBus();
    const poison = await sendOne(bus, "c", "a\0b");
    const next = await sendOne(bus, "c", "second");
    // A stale ABQ_MSG_CONTENT in the watcher's own environment (a watcher run by a handler) must not leak.
    const r = await bus.abq(["watch", "c", "--handler", envHandler(bus), "--once"], {
      env: { ABQ_MSG_CONTENT: "stale" },
    });
    expect(r.code, r.stderr).toBe(0);
    const answer = (await shown(bus, poison)).response;
    expect(answer?.status).toBe("success");
    const [omitted, env, stdin, file] = (answer?.result ?? "").split("|");
    expect([omitted, env]).toEqual(["nul", "unset"]);
    expect(Number(stdin)).toBeGreaterThan(0); // the message JSON, NUL escaped as \u0000
    expect(Number(file)).toBeGreaterThan(0);
    expect((await shown(bus, next)).response).toMatchObject({
      status: "success",
      result: expect.stringMatching(/^none\|second\|/) as unknown,
    });
    expect(dir(bus, "c", "requests")).toEqual([]);
    expect(dir(bus, "c", "processing")).toEqual([]);
  });

  it("content over 32 KiB: ABQ_MSG_CONTENT unset and ABQ_MSG_CONTENT_OMITTED=size", async () => {
    const bus = makeBus();
    const big = await sendOne(bus, "c", "x".repeat(40 * 1024));
    const r = await bus.abq(["watch", "c", "--handler", envHandler(bus), "--once"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await shown(bus, big)).response?.result).toMatch(/^size\|unset\|\d+\|\d+$/);
  });
});

describe("a message the handler cannot be started for", () => {
  // The sender's name goes into ABQ_MSG_FROM: written by hand into the message file, it can be too big for
  // execve (E2BIG: one variable over 128 KiB) or hold a NUL byte Node refuses in an environment.
  it.each([
    ["E2BIG", "a".repeat(200 * 1024), /E2BIG/],
    ["a NUL byte", "evil\0agent", /null bytes/],
  ])(
    "(%s) is a failed attempt, dead-lettered with its reason; the messages behind it are answered",
    async (_, agent, why) => {
      const bus = makeBus();
      expect((await bus.abq(["channel", "create", "c", "--max-attempts", "2", "--backoff", "0"])).code).toBe(0);
      const poison = await sendOne(bus, "c", "poison");
      const file = join(bus.home, "channels", "c", "requests", `${poison}.json`);
      const message = parseJson<{ from: { agent: string } }>(readFileSync(file, "utf8"));
      message.from.agent = agent;
      writeFileSync(file, JSON.stringify(message));
      const behind = await sendOne(bus, "c", "0");

      const handler = join(import.meta.dirname, "fixtures", "handlers", "exit-code.sh");
      const first = await bus.abq(["watch", "c", "--handler", handler, "--once", "--json"]);
      expect(first.code, first.stderr).toBe(0); // not "handler cannot be started" (exit 2)
      expect((await shown(bus, behind)).response).toMatchObject({ status: "success", result: "out:0" });
      const released = events(first.stdout).find((e) => e["type"] === "released");
      expect(released).toMatchObject({ id: poison, reason: expect.stringMatching(why) as unknown });
      expect(String(released?.["reason"])).not.toContain("dead-lettered");
      expect(dir(bus, "c", "requests")).toEqual([`${poison}.json`]); // attempt 1 of 2, backoff 0: pending again

      const second = await bus.abq(["watch", "c", "--handler", handler, "--once", "--json"]);
      expect(second.code, second.stderr).toBe(0);
      const dead = events(second.stdout).find((e) => e["type"] === "released");
      expect(dead).toMatchObject({ id: poison, reason: expect.stringMatching(/dead-lettered$/) as unknown });
      expect(String(dead?.["reason"]).split("\n")).toHaveLength(1);
      const s = await shown(bus, poison);
      expect(s.state).toBe("dead");
      expect(s.reason).toMatchObject({
        attempts: 2,
        max_attempts: 2,
        reason: expect.stringMatching(/handler could not be started for this message/) as unknown,
      });
      expect(String(s.reason?.["error"])).toMatch(why);
      expect(dir(bus, "c", "requests")).toEqual([]);
      expect(dir(bus, "c", "processing")).toEqual([]);
    },
  );
});

describe("timers built from user numbers", () => {
  // Node's timers overflow past 2^31 - 1 ms and fire after 1 ms: a huge --timeout killed every handler.
  it.each([
    ["--timeout", "2147484"],
    ["--grace", "2147484"],
    ["--poll", "2147483648"],
  ])("abq watch %s %s is refused with one line naming the option and the maximum (exit 2)", async (option, value) => {
    const bus = makeBus();
    const id = await sendOne(bus, "c", "0");
    const r = await bus.abq(["watch", "c", "--handler", "true", option, value, "--once"]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(option.slice(2));
    expect(lines[0]).toMatch(/(at most|maximum)\D*\d/);
    expect(dir(bus, "c", "requests")).toEqual([`${id}.json`]); // nothing consumed
  });

  // The library boundary (createWatcher's schema) holds too, whatever a caller passes.
  it.each([
    [{ timeout: 2147484 }, "timeout: must be at most 2147483 seconds"],
    [{ grace: 2147484 }, "grace: must be at most 2147483 seconds"],
    [{ pollMs: 2 ** 31 }, "pollMs: must be at most 2147483647 ms"],
  ])("createWatcher(%o) rejects with E_USAGE naming the option and the maximum", async (opts, message) => {
    const bus = makeBus();
    await sendOne(bus, "c", "0");
    const made = createWatcher({ home: bus.home, channel: "c", handler: "true", ...opts });
    await expect(made).rejects.toMatchObject({ code: "E_USAGE", message: expect.stringContaining(message) as unknown });
  });

  it("a timeout of 2147483 s (the maximum) does not fire: the handler runs to completion", async () => {
    const bus = makeBus();
    const id = await sendOne(bus, "c", "x");
    const watcher = await createWatcher({
      home: bus.home,
      channel: "c",
      handler: "sleep 0.3; echo slept",
      timeout: 2147483,
      once: true,
    });
    expect(await watcher.run()).toMatchObject({ handled: 1, succeeded: 1 });
    expect((await shown(bus, id)).response).toMatchObject({
      status: "success",
      result: expect.stringMatching(/^slept/) as unknown,
    });
  });

  it("a channel's huge lease_s does not make the lease keeper renew every millisecond", async () => {
    const bus = makeBus();
    // (The handler command line gets the message path appended, hence "slept <path>".)
    // lease_s * 1000 / 3 is past 2^31 - 1 ms: unclamped, the renewal interval overflows to 1 ms.
    expect((await bus.abq(["channel", "create", "c", "--lease", "10000000"])).code).toBe(0);
    const id = await sendOne(bus, "c", "x");
    const r = await bus.abq(["watch", "c", "--handler", "sleep 0.5; echo slept", "--once"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
    expect((await shown(bus, id)).response).toMatchObject({
      status: "success",
      result: expect.stringMatching(/^slept/) as unknown,
    });
    const renewals = (await bus.abq(["trace", id])).stdout.split("\n").filter((l) => l.includes(" renewed "));
    expect(renewals.length).toBeLessThanOrEqual(1); // the one that records the handler's process group
  });
});

describe("a bus that stops answering for a while", () => {
  it("the watcher warns, backs off and goes on once the folder is back (it used to exit 6)", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "c"])).code).toBe(0);
    const ch = join(bus.home, "channels", "c");
    const w = startNode([CLI, "watch", "c", "--handler", join(ROOT, "handlers", "echo.sh"), "--json"], {
      env: bus.env,
      timeoutMs: 60_000,
    });
    let out = "";
    w.child.stdout!.on("data", (d: string) => (out += d));
    try {
      await until(() => out.includes('"type":"started"'));
      // processing/ becomes a file: every claim's rename fails with ENOTDIR (exit 6 territory).
      renameSync(join(ch, "processing"), join(bus.root, "processing-aside"));
      writeFileSync(join(ch, "processing"), "not a folder\n");
      const sent = await bus.abq(["send", "c", "command", "after the outage", "--json"]);
      expect(sent.code, sent.stderr).toBe(0);
      const id = parseJson<{ id: string }>(sent.stdout).id;
      await until(() => out.includes("the bus is not answering"));
      rmSync(join(ch, "processing"));
      renameSync(join(bus.root, "processing-aside"), join(ch, "processing"));
      await until(async () => (await shown(bus, id)).state === "done", 20_000);
      expect((await shown(bus, id)).response?.result).toContain("after the outage");
    } finally {
      w.child.kill("SIGTERM");
      const r = await w.done;
      expect(r.code, r.stderr).toBe(0);
    }
  });
});
