/**
 * The fast path (src/cli/fast.ts) must be invisible: every shape it takes prints, stores and exits exactly
 * as the full command line does (ABQ_FAST_PATH=0), errors included, and it must really be taken (the
 * command line's chunk, commander, is never loaded for those shapes). Shapes it does not take fall through
 * to the full command line, whose own usage errors then appear.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { configureChannel, createChannel, inboxName, init, recv, send, subscribe } from "../src/index.ts";
import { type Bus, CLI, makeBus, parseJson, runNode } from "./helpers.ts";

/** Ids, times, pids and cwd differ from run to run; everything else must be equal. */
function normalise(text: string): string {
  return text
    .replace(/req_[0-9a-f]{32}/g, "req_ID")
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)/g, "TIME")
    .replace(/"pid": ?\d+/g, '"pid":0')
    .replace(/\b[0-9a-f]{16}\b/g, "TOKEN") // lease tokens
    .replace(/\b\d+(s|m|h|d) ago\b/g, "AGO")
    .replace(/"oldest_pending_age_ms":\d+/g, '"oldest_pending_age_ms":0')
    .replace(/ \d+[smhd]$/gm, " AGE"); // status's OLDEST column
}

/** Runs `args` both ways on two identical buses; returns the two results, normalised. */
async function bothWays(setup: (bus: Bus) => Promise<void>, args: string[], input?: string) {
  const out = [];
  for (const fast of [true, false]) {
    const bus = makeBus({ ABQ_FAST_PATH: fast ? "1" : "0" });
    await setup(bus);
    const r = await bus.abq(
      args.map((a) => a.replace("HOME", bus.home)),
      input !== undefined ? { input } : {},
    );
    out.push({
      code: r.code,
      stdout: normalise(r.stdout.replaceAll(bus.root, "ROOT")),
      stderr: normalise(r.stderr.replaceAll(bus.root, "ROOT")),
      files: existsSync(join(bus.home, "channels", "q"))
        ? readdirSync(join(bus.home, "channels", "q", "requests")).length
        : -1,
      // What was stored and logged, byte for byte but for ids, times and pids.
      stored: stored(bus, "q"),
      events: normalise(readIfThere(join(bus.home, "channels", "q", "events.jsonl"))),
    });
  }
  return { fast: out[0]!, full: out[1]! };
}

function readIfThere(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** Every message file of `channel` (any state) with its mode, normalised, in name order. */
function stored(bus: Bus, channel: string): string[] {
  const dir = join(bus.home, "channels", channel);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /req_[0-9a-f]+(_\w+)?\.json$/.test(f))
    .sort()
    .map(
      (f) =>
        `${normalise(f)} ${(statSync(join(dir, f)).mode & 0o777).toString(8)} ${normalise(readFileSync(join(dir, f), "utf8").replaceAll(bus.root, "ROOT"))}`,
    );
}

// Buses are set up through the library (fewer processes); what is compared is the CLI's.
const withQueue = async (bus: Bus): Promise<void> => {
  await init({ home: bus.home });
  await createChannel({ home: bus.home, name: "q" });
};
const withMail = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  await createChannel({ home: bus.home, name: inboxName("test/agent") });
  await send({ home: bus.home, channel: inboxName("test/agent"), type: "command", content: "review PR 7\u001b[31m" });
  await send({ home: bus.home, channel: "q", type: "signal", content: "tests passed" });
};

/** Names a listing skips (a hidden file in requests/, a staged file in tmp/): still no mail. */
const withDotFiles = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  writeFileSync(join(bus.home, "channels", "q", "requests", ".hidden"), "");
  writeFileSync(join(bus.home, "channels", "q", "tmp", "req_1.json.1.tmp"), "{}");
};
/**
 * More hidden files than one directory read returns (32), then 12 messages, more than a summary lists
 * (10): the no-mail check must read past the dot-files, and the total comes from the one listing.
 */
const withDotsAndMail = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  for (let i = 0; i < 40; i++) writeFileSync(join(bus.home, "channels", "q", "requests", `.hidden-${i}`), "");
  for (let i = 0; i < 12; i++) await send({ home: bus.home, channel: "q", type: "signal", content: `m${i}` });
};
/** Every kind of count `status` shows: pending, claimed (and one being retried), dead, a topic's copies. */
const withStates = async (bus: Bus): Promise<void> => {
  await withMail(bus);
  await createChannel({ home: bus.home, name: "t", topic: true });
  await subscribe({ home: bus.home, topic: "t", name: "sub" });
  await send({ home: bus.home, channel: "t", type: "signal", content: "to the subscriber" });
  await send({ home: bus.home, channel: "q", type: "signal", content: "claimed" });
  await recv({ home: bus.home, channel: "q" });
  const q = join(bus.home, "channels", "q");
  writeFileSync(join(q, "processing", ".retry-req_0.1.abc"), "{}");
  mkdirSync(join(q, "dead"), { recursive: true, mode: 0o700 });
  writeFileSync(join(q, "dead", "req_01.json"), "{}");
  writeFileSync(join(q, "dead", "req_01.json.reason.json"), "{}");
};
/** Mail behind an expired message and a file that is not a message: a claim sets both aside and says so. */
const withLitter = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  await send({ home: bus.home, channel: "q", type: "signal", content: "stale", ttl: 1 });
  writeFileSync(join(bus.home, "channels", "q", "requests", "req_00000000000000000000000000000001.json"), "not json");
  await new Promise((r) => setTimeout(r, 1100));
  await send({ home: bus.home, channel: "q", type: "command", content: "fresh\u001b[31m" });
};
const withCopy = async (bus: Bus): Promise<void> => {
  await withTopic(bus);
  await send({ home: bus.home, channel: "q", type: "signal", content: "to the subscriber" });
};
/** No bus at all: nothing was ever made under ABQ_HOME. */
const noBus = (): Promise<void> => Promise.resolve();
const withPolicy = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  await configureChannel({ home: bus.home, name: "q", policy: { ttl_s: 3600 } });
};
const withTopic = async (bus: Bus): Promise<void> => {
  await init({ home: bus.home });
  await createChannel({ home: bus.home, name: "q", topic: true });
  await subscribe({ home: bus.home, topic: "q", name: "sub" });
};
/** A channel made by hand (or by the seed): its folders, no channel.json. */
const withBareQueue = async (bus: Bus): Promise<void> => {
  await init({ home: bus.home });
  for (const d of ["requests", "processing", "responses", "archive", "tmp"]) {
    mkdirSync(join(bus.home, "channels", "q", d), { recursive: true, mode: 0o700 });
  }
};
const withGroupQueue = async (bus: Bus): Promise<void> => {
  await withQueue(bus);
  chmodSync(join(bus.home, "channels", "q", "requests"), 0o770);
};

describe("the fast path prints, stores and exits as the full command line", () => {
  const cases: [string, (bus: Bus) => Promise<void>, string[], string?][] = [
    ["send", withQueue, ["send", "q", "signal", "hello"]],
    ["send --json, flag first", withQueue, ["send", "--json", "q", "command", "run the tests"]],
    ["send with --home before the command", withQueue, ["--home", "HOME", "send", "q", "eval", "1+1"]],
    ["send with --home=", withQueue, ["send", "q", "status", "ok", "--home=HOME", "--no-color"]],
    ["send to a missing channel", withQueue, ["send", "nope", "signal", "x"]],
    ["send to a missing channel, --json", withQueue, ["send", "nope", "signal", "x", "--json"]],
    ["send --create", withQueue, ["send", "fresh", "signal", "x", "--create"]],
    ["send to a bad name", withQueue, ["send", "bad name!", "signal", "x"]],
    ["send to @self", withQueue, ["send", "@self", "signal", "x"]],
    ["send with a mistyped type (not taken)", withQueue, ["send", "q", "sigal", "x"]],
    ["send of empty content (not taken)", withQueue, ["send", "q", "signal", ""]],
    ["send with an unknown flag (not taken)", withQueue, ["send", "q", "signal", "x", "--bogus"]],
    ["send with too many arguments (not taken)", withQueue, ["send", "q", "signal", "x", "y"]],
    ["send with a short flag (not taken)", withQueue, ["send", "q", "signal", "x", "-q"]],
    ["send to a queue with a policy (its ttl)", withPolicy, ["send", "q", "signal", "x"]],
    ["send to a topic", withTopic, ["send", "q", "signal", "x", "--json"]],
    ["send to a channel without channel.json", withBareQueue, ["send", "q", "signal", "x", "--json"]],
    ["send to a queue whose requests/ is group-writable", withGroupQueue, ["send", "q", "signal", "x"]],
    ["send with control characters and quotes", withQueue, ["send", "q", "command", 'a\u001b[31m"b"\\c\u2028d']],
    ["send with ABQ_URL pointing elsewhere", withQueue, ["--url", "bogus", "send", "q", "signal", "x"]],
    ["check --inbox, no mail", withQueue, ["check", "--inbox", "@self"]],
    ["check --inbox of a named queue, no mail", withQueue, ["check", "--inbox", "q"]],
    ["check --inbox of a named queue, no mail, --json", withQueue, ["check", "--inbox", "q", "--json"]],
    ["check --inbox of a topic, no mail", withTopic, ["check", "--inbox", "q", "--inject"]],
    ["check --inbox @parent outside a repository", withQueue, ["check", "--inbox", "@parent"]],
    ["check --inbox, only a staging file and a dot-file", withDotFiles, ["check", "--inbox", "q", "--json"]],
    ["check --inbox, 40 dot-files and 12 messages", withDotsAndMail, ["check", "--inbox", "q", "--json"]],
    ["check --inbox --inject, no mail", withQueue, ["check", "--inbox", "@self", "--inject"]],
    ["check --inbox, mail", withMail, ["check", "--inbox", "@self"]],
    ["check --inbox --inject, mail", withMail, ["check", "--inbox", "@self", "--inject"]],
    ["check --inbox --json", withMail, ["check", "--json", "--inbox", "q"]],
    ["check --inbox of a missing channel, --inject", withQueue, ["check", "--inbox", "nope", "--inject"]],
    ["check --inbox of a missing channel", withQueue, ["check", "--inbox", "nope"]],
    [
      "check --inbox --format claude-code (UserPromptSubmit)",
      withMail,
      ["check", "--inbox", "@self", "--format", "claude-code", "--event", "UserPromptSubmit"],
      "{}",
    ],
    [
      "check --inbox --format claude-code (Stop, from stdin)",
      withMail,
      ["check", "--inbox", "@self", "--format", "claude-code"],
      '{"hook_event_name":"Stop","stop_hook_active":false}',
    ],
    ["status", withQueue, ["status"]],
    ["status --json", withQueue, ["status", "--json"]],
    ["status with every kind of count", withStates, ["status"]],
    ["status --json with every kind of count", withStates, ["--home", "HOME", "status", "--json"]],
    ["status of a channel without channel.json", withBareQueue, ["status", "--json"]],
    ["status of a queue whose requests/ is group-writable", withGroupQueue, ["status"]],
    ["status of a bus never made", noBus, ["status"]],
    ["status of a bus never made, --json", noBus, ["status", "--json"]],
    ["status with ABQ_URL pointing elsewhere", withQueue, ["--url", "bogus", "status"]],
    ["status with an unknown flag (not taken)", withQueue, ["status", "--bogus"]],
    ["recv", withMail, ["recv", "q"]],
    ["recv --json, flag first", withMail, ["recv", "--json", "q"]],
    ["recv of an empty queue (exit 4, quiet)", withQueue, ["recv", "q"]],
    ["recv of an empty queue, --json", withQueue, ["recv", "q", "--json"]],
    ["recv of a missing channel", withQueue, ["recv", "nope"]],
    ["recv past an expired message and a bad file", withLitter, ["recv", "q"]],
    ["recv past an expired message and a bad file, --json", withLitter, ["recv", "q", "--json"]],
    ["recv --as a subscriber", withCopy, ["recv", "q", "--as", "sub"]],
    ["recv --as= an unknown subscriber", withCopy, ["recv", "q", "--as=nobody", "--json"]],
    ["recv of a bus never made", noBus, ["recv", "q"]],
    ["recv with ABQ_URL pointing elsewhere", withMail, ["--url", "bogus", "recv", "q"]],
    ["recv --wait (not taken)", withMail, ["recv", "q", "--wait", "--json"]],
    ["recv -w (not taken)", withMail, ["recv", "q", "-w"]],
    ["check --inbox with -n (not taken)", withMail, ["check", "--inbox", "q", "-n", "1"]],
    ["check --inbox without a value (not taken)", withQueue, ["check", "--inbox"]],
  ];
  it.each(cases)("%s", async (_name, setup, args, input) => {
    const { fast, full } = await bothWays(setup, args, input);
    expect(fast).toEqual(full);
  });

  it("status counts what is there: a claim, one being retried, a dead letter (not its reason), a copy", async () => {
    const { fast } = await bothWays(withStates, ["status", "--json"]);
    const rows = (JSON.parse(fast.stdout) as { channels: Record<string, unknown>[] }).channels;
    const q = rows.find((r) => r["name"] === "q");
    expect(q).toMatchObject({ pending: 1, processing: 2, dead: 1 });
    expect(rows.find((r) => r["name"] === "t" && r["subscriber"] === "sub")).toMatchObject({ pending: 1 });
  });

  it("check --inbox past 40 dot-files finds the mail, and counts all 12 while it lists 10", async () => {
    const { fast } = await bothWays(withDotsAndMail, ["check", "--inbox", "q", "--json"]);
    const summary = parseJson<{ pending: number; messages: Array<{ first_line: string }> }>(fast.stdout);
    expect(summary.pending).toBe(12);
    expect(summary.messages.map((m) => m.first_line)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it("recv says what it set aside on the way, and claims the live message behind it", async () => {
    const { fast } = await bothWays(withLitter, ["recv", "q"]);
    expect(fast.code).toBe(0);
    expect(fast.stdout).toContain("Content: fresh\\u001b[31m");
    expect(fast.stderr).toMatch(/^abq: expired 1 message\(s\) .*, rejected 1 /);
  });

  it("refuses an unsafe bus as the full command line does (exit 9)", async () => {
    const unsafe = async (bus: Bus): Promise<void> => {
      await withQueue(bus);
      chmodSync(join(bus.home, "channels"), 0o777);
    };
    const send = await bothWays(unsafe, ["send", "q", "signal", "x"]);
    expect(send.fast.code).toBe(9);
    expect(send.fast).toEqual(send.full);
    const check = await bothWays(unsafe, ["check", "--inbox", "q", "--inject"]);
    expect(check.fast).toEqual(check.full);
    const status = await bothWays(unsafe, ["status", "--json"]);
    expect(status.fast.code).toBe(9);
    expect(status.fast).toEqual(status.full);
  });
});

describe("the fast path is taken", () => {
  let bus: Bus;
  beforeEach(async () => {
    bus = makeBus();
    await withQueue(bus);
  });

  it("send, check --inbox, recv and status never load the command line's chunk (commander), other shapes do; plain ones skip the core", async () => {
    const preload = join(bus.root, "chunks.cjs");
    writeFileSync(
      preload,
      `process.on("exit", () => require("fs").writeFileSync(process.env.CHUNKS_OUT,
         Object.keys(require.cache).map((f) => require("path").basename(f)).join("\\n")));`,
    );
    const loaded = async (args: string[]): Promise<string[]> => {
      const out = join(bus.root, "chunks.txt");
      const r = await runNode(["-r", preload, CLI, ...args], { env: { ...bus.env, CHUNKS_OUT: out }, cwd: bus.root });
      expect(r.code, r.stderr).toBeLessThan(2);
      return readFileSync(out, "utf8").split("\n");
    };
    const cli = (chunks: string[]): boolean => chunks.some((c) => /^cli-.*\.js$/.test(c));
    // The plain cases load neither the core nor zod (src/spool/send-plain.ts, src/inbox/no-mail.ts).
    const core = (chunks: string[]): boolean => chunks.some((c) => /^(core|zod)-.*\.js$/.test(c));
    expect(core(await loaded(["check", "--inbox", "q", "--inject"]))).toBe(false);
    expect(core(await loaded(["check", "--inbox", "@self"]))).toBe(false);
    expect(core(await loaded(["send", "q", "signal", "x"]))).toBe(false);
    expect(core(await loaded(["check", "--inbox", "q", "--inject"]))).toBe(true); // mail: the full path reads it
    await configureChannel({ home: bus.home, name: "q", policy: { ttl_s: 60 } });
    expect(core(await loaded(["send", "q", "signal", "x"]))).toBe(true); // a policy: the full path applies it
    expect(cli(await loaded(["send", "q", "signal", "x"]))).toBe(false);
    expect(cli(await loaded(["check", "--inbox", "q", "--inject"]))).toBe(false);
    expect(cli(await loaded(["check", "--inbox", "@self", "--format", "claude-code", "--event", "Stop"]))).toBe(false);
    expect(cli(await loaded(["send", "q", "signal", "x", "--ttl", "1h"]))).toBe(true);
    expect(cli(await loaded(["status", "--json"]))).toBe(false);
    expect(core(await loaded(["status", "--json"]))).toBe(false); // counts need no schema (src/spool/status-plain.ts)
    await send({ home: bus.home, channel: "q", type: "signal", content: "x" });
    expect(cli(await loaded(["recv", "q", "--json"]))).toBe(false);
    expect(cli(await loaded(["ls", "q"]))).toBe(true);
  });
});
