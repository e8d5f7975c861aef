/**
 * Bad input, end to end through the built CLI. Every case checks three things: the exit code (src/cli/exit.ts),
 * that stderr is exactly one line starting `abq: ` saying what is wrong (one JSON object with `--json`), and
 * that nothing was lost or created where it should not be.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bus, makeBus, parseJson, type RunResult } from "./helpers.ts";

type Json = Record<string, unknown>;

const EXIT = { USAGE: 2, NOT_FOUND: 3, EMPTY: 4, CONFLICT: 7 } as const;
/** Sorts after every bad file name used below (`notes.txt`, `req_0a…`, `req_abc.json`), so it is claimed last. */
const VALID_ID = "req_ffff00000000000000000001";

/** Asserts a failed run: exit code, one `abq: ` line on stderr matching every pattern, nothing on stdout. */
function expectError(res: RunResult, code: number, ...patterns: RegExp[]): string {
  expect(res.code, `exit code; stderr: ${res.stderr}`).toBe(code);
  expect(res.stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(res.stderr)}`).toBe(true);
  const lines = res.stderr.slice(0, -1).split("\n");
  expect(lines, "stderr is one line").toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/^abq: \S/);
  for (const pattern of patterns) expect(line).toMatch(pattern);
  expect(res.stdout).toBe("");
  return line;
}

/** Asserts a failed run with `--json`: stderr is one JSON object `{error: {code, message}}`. */
function expectJsonError(res: RunResult, exitCode: number, errorCode: string): Json {
  expect(res.code, `exit code; stderr: ${res.stderr}`).toBe(exitCode);
  expect(res.stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(res.stderr)}`).toBe(true);
  const lines = res.stderr.slice(0, -1).split("\n");
  expect(lines, "stderr is one line").toHaveLength(1);
  let parsed: { error?: Json } = {};
  expect(() => (parsed = parseJson(lines[0]!)), `stderr is JSON: ${lines[0]}`).not.toThrow();
  expect(parsed.error?.["code"]).toBe(errorCode);
  expect(typeof parsed.error?.["message"]).toBe("string");
  expect(res.stdout).toBe("");
  return parsed.error!;
}

function message(id: string, overrides: Json = {}): Json {
  return {
    id,
    version: "1.0.0",
    type: "signal",
    from: { agent: "test/agent", pid: 4242, pwd: "/tmp" },
    to: "ch",
    content: "hello",
    timestamp: "2026-11-21T04:46:12.614384+00:00",
    ttl: 0, // never expires: these fixtures are about validation, not TTL
    ...overrides,
  };
}

function path(bus: Bus, channel: string, ...rest: string[]): string {
  return join(bus.home, "channels", channel, ...rest);
}

/** Entries of a folder, [] when it does not exist. */
function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Every path under `dir`, relative, sorted: a snapshot to prove that nothing was created or removed. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      out.push(relative(dir, full));
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out.sort();
}

async function makeChannel(bus: Bus, name = "ch"): Promise<void> {
  const res = await bus.abq(["channel", "create", name]);
  expect(res.code, res.stderr).toBe(0);
}

async function send(bus: Bus, channel = "ch", content = "hello"): Promise<string> {
  const res = await bus.abq(["send", channel, "signal", content, "--json"]);
  expect(res.code, res.stderr).toBe(0);
  return String(parseJson(res.stdout)["id"]);
}

async function channelStatus(bus: Bus, channel = "ch", env: NodeJS.ProcessEnv = {}): Promise<Json> {
  const res = await bus.abq(["status", "--json"], { env });
  expect(res.code, res.stderr).toBe(0);
  const found = parseJson<{ channels: Json[] }>(res.stdout).channels.find((c) => c["name"] === channel);
  expect(found, `status lists ${channel}`).toBeDefined();
  return found!;
}

interface BadFile {
  label: string;
  name: string;
  /** Creates the bad entry at `target`. */
  make(target: string): void;
  /** What the reason must say. */
  reason: RegExp;
  env?: NodeJS.ProcessEnv;
}

/** A valid-looking message whose file is exactly `bytes` long. */
function messageOfSize(id: string, bytes: number): string {
  const base = JSON.stringify(message(id, { content: "" }), null, 2);
  const text = JSON.stringify(message(id, { content: "x".repeat(bytes - Buffer.byteLength(base)) }), null, 2);
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

const BAD_FILES: BadFile[] = [
  {
    label: "malformed JSON",
    name: "req_0a01.json",
    make: (t) => writeFileSync(t, '{"id": "req_0a01", "version": "1.0.0", "type": '),
    reason: /JSON/,
  },
  {
    label: "valid JSON without a type",
    name: "req_0a02.json",
    make: (t) => {
      const noType = message("req_0a02");
      delete noType["type"];
      writeFileSync(t, JSON.stringify(noType, null, 2));
    },
    reason: /\btype\b/,
  },
  {
    label: "valid JSON with an unknown type",
    name: "req_0a03.json",
    make: (t) => writeFileSync(t, JSON.stringify(message("req_0a03", { type: "bogus" }), null, 2)),
    reason: /\btype\b/,
  },
  {
    label: "a file name that does not match the id inside",
    name: "req_0a04.json",
    make: (t) => writeFileSync(t, JSON.stringify(message("req_0a05"), null, 2)),
    reason: /req_0a04[\s\S]*req_0a05|req_0a05[\s\S]*req_0a04/,
  },
  {
    label: "a file that is not named like a message",
    name: "notes.txt",
    make: (t) => writeFileSync(t, "remember the milk\n"),
    reason: /name/,
  },
  {
    label: "a file over ABQ_MAX_BYTES",
    name: "req_0a06.json",
    make: (t) => writeFileSync(t, messageOfSize("req_0a06", 2000)),
    reason: /1000/,
    env: { ABQ_MAX_BYTES: "1000" },
  },
  {
    label: "a directory named like a message",
    name: "req_abc.json",
    make: (t) => {
      mkdirSync(t);
      writeFileSync(join(t, "inside.txt"), "keep me");
    },
    reason: /director/i,
  },
];

/** What is at `target`, to compare before and after: file bytes, or a directory's files and their bytes. */
function contents(target: string): string {
  if (!statSync(target).isDirectory()) return readFileSync(target).toString("base64");
  return JSON.stringify(tree(target).map((p) => [p, readFileSync(join(target, p)).toString("base64")]));
}

function expectRejected(bus: Bus, bad: BadFile, before: string): void {
  const rejected = path(bus, "ch", "rejected", bad.name);
  expect(existsSync(rejected), `rejected/${bad.name} exists`).toBe(true);
  expect(contents(rejected), "the rejected file is byte-for-byte what was written").toBe(before);
  const note = parseJson(readFileSync(`${rejected}.reason.json`, "utf8"));
  expect(typeof note["reason"]).toBe("string");
  expect(note["reason"]).toMatch(bad.reason);
  expect(existsSync(path(bus, "ch", "requests", bad.name)), "gone from requests/").toBe(false);
  expect(existsSync(path(bus, "ch", "processing", bad.name)), "not stranded in processing/").toBe(false);
}

describe("files in requests/ that are not valid messages", () => {
  it.each(BAD_FILES)("$label: recv rejects it and exits 4 when nothing else is pending", async (bad) => {
    const bus = makeBus(bad.env);
    await makeChannel(bus);
    const target = path(bus, "ch", "requests", bad.name);
    bad.make(target);
    const before = contents(target);

    // What the claim set aside on the way (nothing is rejected silently); the empty queue itself is exit
    // 4 alone (the recv loop idiom), and --json adds its error object.
    const res = await bus.abq(["recv", "ch"]);
    expect(res.code).toBe(EXIT.EMPTY);
    expect(res.stderr).toBe(
      "abq: rejected 1 (invalid, or refused by the channel's sender rules; see: abq ls ch rejected)\n",
    );
    expectRejected(bus, bad, before);
    expect(await channelStatus(bus)).toMatchObject({ pending: 0, processing: 0, rejected: 1 });
  });

  it.each(BAD_FILES)("$label: a valid message behind it is still delivered", async (bad) => {
    const bus = makeBus(bad.env);
    await makeChannel(bus);
    const target = path(bus, "ch", "requests", bad.name);
    bad.make(target);
    const before = contents(target);
    writeFileSync(path(bus, "ch", "requests", `${VALID_ID}.json`), JSON.stringify(message(VALID_ID), null, 2));

    const got = await bus.abq(["recv", "ch", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson(got.stdout)).toEqual(message(VALID_ID));
    expectRejected(bus, bad, before);
    expectJsonError(await bus.abq(["recv", "ch", "--json"]), EXIT.EMPTY, "E_EMPTY");
    expect(await channelStatus(bus)).toMatchObject({ pending: 0, processing: 1, rejected: 1 });
  });

  it("all of them at once: one valid message behind seven bad files", async () => {
    const bus = makeBus({ ABQ_MAX_BYTES: "1000" });
    await makeChannel(bus);
    const before = new Map<string, string>();
    for (const bad of BAD_FILES) {
      const target = path(bus, "ch", "requests", bad.name);
      bad.make(target);
      before.set(bad.name, contents(target));
    }
    writeFileSync(path(bus, "ch", "requests", `${VALID_ID}.json`), JSON.stringify(message(VALID_ID), null, 2));
    expect(await channelStatus(bus)).toMatchObject({ pending: BAD_FILES.length + 1, rejected: 0 });

    const got = await bus.abq(["recv", "ch", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson(got.stdout)["id"]).toBe(VALID_ID);
    for (const bad of BAD_FILES) expectRejected(bus, bad, before.get(bad.name)!);
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
    expect(entries(path(bus, "ch", "processing"))).toEqual([`${VALID_ID}.json`]);
    expect(await channelStatus(bus)).toMatchObject({ pending: 0, processing: 1, rejected: BAD_FILES.length });
    const listed = await bus.abq(["ls", "ch", "rejected", "-c"]);
    expect(listed.stdout.trim()).toBe(String(BAD_FILES.length));
  });

  it("files starting with '.' are ignored: left in place, never rejected", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const hidden = { ".req_0b01.json.part": '{"id": "req_0b', ".DS_Store": "\u0000\u0001" };
    for (const [name, text] of Object.entries(hidden)) writeFileSync(path(bus, "ch", "requests", name), text);

    expectJsonError(await bus.abq(["recv", "ch", "--json"]), EXIT.EMPTY, "E_EMPTY");
    writeFileSync(path(bus, "ch", "requests", `${VALID_ID}.json`), JSON.stringify(message(VALID_ID), null, 2));
    const got = await bus.abq(["recv", "ch", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson(got.stdout)["id"]).toBe(VALID_ID);

    expect(entries(path(bus, "ch", "requests"))).toEqual(Object.keys(hidden).sort());
    for (const [name, text] of Object.entries(hidden)) {
      expect(readFileSync(path(bus, "ch", "requests", name), "utf8")).toBe(text);
    }
    expect(entries(path(bus, "ch", "rejected"))).toEqual([]);
    expect(await channelStatus(bus)).toMatchObject({ pending: 0, processing: 1, rejected: 0 });
  });
});

describe("bad channel names", () => {
  const names: Array<[string, string]> = [
    ["../x", "path traversal"],
    ["a/b", "a slash"],
    ["", "empty"],
    ["a".repeat(300), "300 characters"],
    ["UPPER", "upper case"],
    ["..", "the parent folder"],
  ];
  const commands: Array<[string, (name: string) => string[]]> = [
    ["channel create", (n) => ["channel", "create", n]],
    ["send", (n) => ["send", n, "signal", "x"]],
    ["recv", (n) => ["recv", n]],
  ];

  it.each(names)("%j (%s) is refused by channel create, send and recv with exit 2", async (name) => {
    const bus = makeBus();
    expect((await bus.abq(["init"])).code).toBe(0);
    await makeChannel(bus, "ok");
    const snapshot = tree(bus.root);

    for (const [label, args] of commands) {
      const res = await bus.abq(args(name));
      // The message states the rule, so the user can pick a good name.
      const line = expectError(res, EXIT.USAGE, /channel name/i, /a-z|lower-?case/i);
      expect(line.length, `${label}: a sane line length`).toBeLessThan(400);
    }

    expect(tree(bus.root), "nothing created or removed anywhere under the test root").toEqual(snapshot);
    expect(existsSync(join(bus.root, "x"))).toBe(false);
    expect(existsSync(join(bus.home, "x"))).toBe(false);
    expect(existsSync(join(bus.home, "channels", "a"))).toBe(false);
  });
});

describe("unknown ids and wrong states", () => {
  it("respond to an unknown id exits 3; to a non-id exits 2; show of an unknown id exits 3", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    expectError(await bus.abq(["respond", "ch", "req_deadbeef"]), EXIT.NOT_FOUND, /req_deadbeef/);
    expectError(await bus.abq(["respond", "ch", "not-an-id"]), EXIT.USAGE, /\bid\b/);
    expectError(await bus.abq(["show", "req_deadbeef"]), EXIT.NOT_FOUND, /req_deadbeef/);
    expectError(await bus.abq(["show", "not-an-id"]), EXIT.USAGE, /\bid\b/);
    expect(entries(path(bus, "ch", "responses"))).toEqual([]);
  });

  it("respond to a message still pending exits 7 and says to claim it with abq recv", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const id = await send(bus);
    const file = path(bus, "ch", "requests", `${id}.json`);
    const before = readFileSync(file, "utf8");

    expectError(
      await bus.abq(["respond", "ch", id, "-r", "too early"]),
      EXIT.CONFLICT,
      /pending|not claimed/,
      /abq recv/,
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(entries(path(bus, "ch", "responses"))).toEqual([]);
    expect(entries(path(bus, "ch", "archive"))).toEqual([]);
  });

  it("a second respond exits 7 and the first answer stands", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const id = await send(bus);
    expect((await bus.abq(["recv", "ch"])).code).toBe(0);
    const first = await bus.abq(["respond", "ch", id, "-r", "first"]);
    expect(first.code, first.stderr).toBe(0);
    const answer = path(bus, "ch", "responses", `${id}.json`);
    const before = readFileSync(answer, "utf8");
    expect(parseJson(before)).toMatchObject({ status: "success", result: "first" });

    expectError(await bus.abq(["respond", "ch", id, "-r", "second"]), EXIT.CONFLICT, /already answered/);
    expectError(await bus.abq(["respond", "ch", id, "-s", "error", "-e", "late"]), EXIT.CONFLICT, /answered/);
    expectError(await bus.abq(["respond", "ch", id, "-s", "pending"]), EXIT.CONFLICT, /answered/);
    expect(readFileSync(answer, "utf8")).toBe(before);
    expect(entries(path(bus, "ch", "archive"))).toEqual([`${id}_request.json`]);
    expect(entries(path(bus, "ch", "processing"))).toEqual([]);
  });
});

describe("usage errors exit 2", () => {
  it("an unknown message type names the allowed types", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    expectError(
      await bus.abq(["send", "ch", "bogus", "x"]),
      EXIT.USAGE,
      /bogus|type/,
      /signal/,
      /command/,
      /eval/,
      /status/,
    );
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
  });

  it("an unknown response status names the allowed statuses and leaves the message claimed", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const id = await send(bus);
    expect((await bus.abq(["recv", "ch"])).code).toBe(0);
    expectError(
      await bus.abq(["respond", "ch", id, "-s", "weird"]),
      EXIT.USAGE,
      /status/,
      /success/,
      /error/,
      /pending/,
    );
    expect(entries(path(bus, "ch", "processing"))).toEqual([`${id}.json`]);
    expect(entries(path(bus, "ch", "responses"))).toEqual([]);
  });

  it.each([["abc"], ["-1"], ["1.5"]])("--ttl %s", async (ttl) => {
    const bus = makeBus();
    await makeChannel(bus);
    expectError(await bus.abq(["send", "ch", "signal", "x", "--ttl", ttl]), EXIT.USAGE, /ttl/);
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
  });

  it.each([
    [["frobnicate"], /unknown command/],
    [["sned", "ch", "signal", "x"], /unknown command/], // close to `send`: the suggestion must stay on the one line
    [["recv", "ch", "--jsno"], /unknown option/],
    [["send"], /missing required argument/],
    [["send", "ch"], /missing required argument/],
    [["recv"], /missing required argument/],
    [["respond", "ch"], /missing required argument/],
    [["channel", "create"], /missing required argument/],
  ])("abq %j", async (args, pattern) => {
    const bus = makeBus();
    await makeChannel(bus);
    expectError(await bus.abq(args), EXIT.USAGE, pattern);
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
  });
});

describe("a missing channel", () => {
  it("send exits 3 and names abq channel create; recv exits 3; --create makes it", async () => {
    const bus = makeBus();
    expect((await bus.abq(["init"])).code).toBe(0);
    expectError(await bus.abq(["send", "nope", "signal", "x"]), EXIT.NOT_FOUND, /nope/, /abq channel create nope/);
    expect(existsSync(path(bus, "nope"))).toBe(false);
    expectError(await bus.abq(["recv", "nope"]), EXIT.NOT_FOUND, /nope/);
    expect(existsSync(path(bus, "nope"))).toBe(false);

    const created = await bus.abq(["send", "nope", "signal", "x", "--create", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const id = String(parseJson(created.stdout)["id"]);
    expect(entries(path(bus, "nope", "requests"))).toEqual([`${id}.json`]);
  });
});

describe("an oversize send", () => {
  it("exits 2 and leaves nothing in requests/ or tmp/", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    expectError(
      await bus.abq(["send", "ch", "signal", "y".repeat(600)], { env: { ABQ_MAX_BYTES: "500" } }),
      EXIT.USAGE,
      /500/,
    );
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
    expect(entries(path(bus, "ch", "tmp"))).toEqual([]);
  });
});

describe("errors with --json", () => {
  it.each<[string, string[], number, string, NodeJS.ProcessEnv?]>([
    ["missing channel", ["send", "nope", "signal", "x"], EXIT.NOT_FOUND, "E_NO_CHANNEL"],
    ["nothing pending", ["recv", "ch"], EXIT.EMPTY, "E_EMPTY"],
    ["unknown type", ["send", "ch", "bogus", "x"], EXIT.USAGE, "E_USAGE"],
    ["bad channel name", ["send", "../x", "signal", "x"], EXIT.USAGE, "E_BAD_NAME"],
    ["unknown id", ["respond", "ch", "req_deadbeef"], EXIT.NOT_FOUND, "E_NO_MESSAGE"],
    ["too large", ["send", "ch", "signal", "y".repeat(600)], EXIT.USAGE, "E_TOO_LARGE", { ABQ_MAX_BYTES: "500" }],
    ["bad option value", ["send", "ch", "signal", "x", "--ttl", "abc"], EXIT.USAGE, "E_USAGE"],
    ["unknown option", ["recv", "ch", "--bogus"], EXIT.USAGE, "E_USAGE"],
    ["missing argument", ["respond", "ch"], EXIT.USAGE, "E_USAGE"],
  ])("%s: stderr is one JSON object with error.code", async (_label, args, exitCode, errorCode, env) => {
    const bus = makeBus();
    await makeChannel(bus);
    expectJsonError(await bus.abq([...args, "--json"], { env }), exitCode, errorCode);
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
  });
});

describe("destructive commands need --yes without a terminal", () => {
  it("purge without --yes exits 2 and moves nothing; with --yes every pending message is archived with a reason", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const ids = [await send(bus, "ch", "one"), await send(bus, "ch", "two"), await send(bus, "ch", "three")];
    const got = await bus.abq(["recv", "ch", "--json"]); // claims the oldest; it must survive the purge
    expect(got.code).toBe(0);
    const claimedId = String(parseJson(got.stdout)["id"]);
    expect(claimedId).toBe(ids[0]);
    const stillPending = ids.slice(1);
    const bytes = new Map(
      stillPending.map((id) => [id, readFileSync(path(bus, "ch", "requests", `${id}.json`), "utf8")] as const),
    );

    expectError(await bus.abq(["purge", "ch"]), EXIT.USAGE, /--yes/);
    expect(entries(path(bus, "ch", "requests"))).toEqual(stillPending.map((id) => `${id}.json`).sort());
    expect(entries(path(bus, "ch", "archive"))).toEqual([]);

    const purged = await bus.abq(["purge", "ch", "--yes", "--json"]);
    expect(purged.code, purged.stderr).toBe(0);
    expect((parseJson(purged.stdout)["purged"] as string[]).sort()).toEqual([...stillPending].sort());
    expect(entries(path(bus, "ch", "requests"))).toEqual([]);
    expect(entries(path(bus, "ch", "processing")), "claimed work is not purged").toEqual([`${claimedId}.json`]);
    for (const id of stillPending) {
      expect(readFileSync(path(bus, "ch", "archive", `${id}_request.json`), "utf8")).toBe(bytes.get(id));
      const reason = parseJson(readFileSync(path(bus, "ch", "archive", `${id}_reason.json`), "utf8"));
      expect(typeof reason["reason"]).toBe("string");
    }
  });

  it("channel rm of a channel with pending messages exits 2 and leaves it intact", async () => {
    const bus = makeBus();
    await makeChannel(bus);
    const id = await send(bus);
    const snapshot = tree(path(bus, "ch"));
    const before = readFileSync(path(bus, "ch", "requests", `${id}.json`), "utf8");

    expectError(await bus.abq(["channel", "rm", "ch"]), EXIT.USAGE, /pending/, /--yes/);
    expect(tree(path(bus, "ch"))).toEqual(snapshot);
    expect(readFileSync(path(bus, "ch", "requests", `${id}.json`), "utf8")).toBe(before);
    const list = await bus.abq(["channel", "list"]);
    expect(list.stdout.split("\n")).toContain("ch");

    const removed = await bus.abq(["channel", "rm", "ch", "--yes"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(existsSync(path(bus, "ch"))).toBe(false);
  });
});

describe("filesystem failures", () => {
  it("a bus home that cannot be created is an I/O error (exit 6) in one line, not a crash", async () => {
    const bus = makeBus();
    const file = join(bus.root, "not-a-folder");
    writeFileSync(file, "x");
    const r = await bus.abq(["init"], { env: { ABQ_HOME: join(file, "home") } });
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^abq: ENOTDIR.*\(check the bus folder/);
  });
});
