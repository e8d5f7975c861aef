/**
 * Wire compatibility with the Python seed (aygp-dr/abq@eddd045c, protocol 1.0.0): its on-disk format and schemas.
 *
 * The fixtures in test/fixtures/seed/ are byte-for-byte what the seed writes (`json.dumps(indent=2)`, no trailing
 * newline, `ensure_ascii` escapes, microsecond `+00:00` timestamps, 22-hex ids), together with hand-written copies
 * of the seed's published JSON Schemas. Channels here are made the way the seed makes them: four plain folders,
 * no `tmp/`, no `channel.json`.
 */
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { type Bus, makeBus, parseJson, ROOT } from "./helpers.ts";

const FIXTURES = join(ROOT, "test", "fixtures", "seed");
const SEED_STATE_DIRS = ["requests", "processing", "responses", "archive"] as const;
/** The seed fixtures' ids, oldest first (the order the seed's `sorted(glob)` and abq's claim both use). */
const SEED_IDS = readdirSync(join(FIXTURES, "requests"))
  .filter((n) => /^req_[0-9a-f]+\.json$/.test(n))
  .map((n) => n.slice(0, -".json".length))
  .sort();
const SEED_RESPONSE_IDS = readdirSync(join(FIXTURES, "responses"))
  .filter((n) => n.endsWith(".json"))
  .map((n) => n.slice(0, -".json".length))
  .sort();
/** Python's `datetime.now(timezone.utc).isoformat()`. */
const SEED_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

type Json = Record<string, unknown>;

function fixtureText(kind: "requests" | "responses", id: string): string {
  return readFileSync(join(FIXTURES, kind, `${id}.json`), "utf8");
}

function fixture(kind: "requests" | "responses", id: string): Json {
  return parseJson(fixtureText(kind, id));
}

function seedSchema(kind: "request" | "response"): Json {
  return parseJson(readFileSync(join(FIXTURES, `${kind}.schema.json`), "utf8"));
}

/** RFC 3339 date-time (what the seed schemas' `format: date-time` means), without pulling in ajv-formats. */
function isDateTime(value: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  );
}

/** A strict draft 2020-12 validator; one Ajv per schema so equal `$id`s never clash. */
function compile(schema: unknown): ValidateFunction {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addFormat("date-time", isDateTime);
  return ajv.compile(schema as Json);
}

/** Asserts `data` passes `validate`, showing ajv's errors when it does not. */
function expectValid(validate: ValidateFunction, data: unknown, what: string): void {
  const ok = validate(data);
  expect(ok ? [] : validate.errors, what).toEqual([]);
}

function expectInvalid(validate: ValidateFunction, data: unknown, what: string): void {
  expect(validate(data), what).toBe(false);
}

/** `$ABQ_HOME` laid out exactly as the seed's `abq init` + `abq channel create <name>` leave it. */
function seedHome(bus: Bus, channels: string[] = ["work"]): void {
  for (const channel of ["broadcast", ...channels]) {
    for (const sub of SEED_STATE_DIRS) mkdirSync(join(bus.home, "channels", channel, sub), { recursive: true });
  }
  mkdirSync(join(bus.home, "agents"));
  mkdirSync(join(bus.home, "logs"));
  copyFileSync(join(FIXTURES, "registry.json"), join(bus.home, "registry.json"));
}

function channelPath(bus: Bus, channel: string, ...rest: string[]): string {
  return join(bus.home, "channels", channel, ...rest);
}

/**
 * Copies the seed fixtures into `requests/`. Modification times run opposite to send order (the newest message
 * has the oldest mtime), so a consumer that ordered by mtime instead of by id would be caught.
 */
function dropSeedRequests(bus: Bus, channel = "work"): void {
  const base = Date.now() / 1000 - 3600;
  SEED_IDS.forEach((id, i) => {
    const target = channelPath(bus, channel, "requests", `${id}.json`);
    copyFileSync(join(FIXTURES, "requests", `${id}.json`), target);
    const t = base - i * 60;
    utimesSync(target, t, t);
  });
}

/** A seed-format id: `req_` + 12 hex digits of Unix ms + 10 random hex digits. */
function seedId(ms: number): string {
  return `req_${ms.toString(16).padStart(12, "0")}${randomBytes(5).toString("hex")}`;
}

/** A request file as the seed writes it (ASCII content only, where JSON.stringify and json.dumps agree). */
function seedRequestText(id: string, ms: number, channel: string, content: string): string {
  const timestamp = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1123+00:00");
  const message = {
    id,
    version: "1.0.0",
    type: "signal",
    from: { agent: "github.com/aygp-dr/abq/main", pid: 4242, pwd: "/home/dev/src/abq" },
    to: channel,
    content,
    timestamp,
    ttl: 300,
  };
  return JSON.stringify(message, null, 2);
}

/** A copy of `obj` without `key`. */
function without(obj: Json, key: string): Json {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

function readJson(path: string): Json {
  return parseJson(readFileSync(path, "utf8"));
}

function ndjson(text: string): Json[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => parseJson(line));
}

describe("seed fixtures", () => {
  it("are in the seed's exact on-disk format and pass the seed's published schemas", () => {
    expect(SEED_IDS).toHaveLength(5);
    const validate = compile(seedSchema("request"));
    const types = new Set<unknown>();
    let withReplyTo = 0;
    for (const id of SEED_IDS) {
      const text = fixtureText("requests", id);
      expect(text.endsWith("\n"), id).toBe(false);
      expect(text.startsWith('{\n  "id": '), id).toBe(true);
      expect(id).toMatch(/^req_[0-9a-f]{22}$/);
      const message = parseJson(text);
      expectValid(validate, message, id);
      expect(message["id"]).toBe(id);
      expect(message["timestamp"]).toMatch(SEED_TIMESTAMP);
      // The id's first 12 hex digits are the send time in ms, taken just before the timestamp.
      expect(Number.parseInt(id.slice(4, 16), 16)).toBe(Math.floor(Date.parse(String(message["timestamp"]))));
      types.add(message["type"]);
      if ("reply_to" in message) withReplyTo++;
    }
    expect([...types].sort()).toEqual(["command", "eval", "signal", "status"]);
    expect(withReplyTo).toBe(1);
    // ensure_ascii: non-ASCII content is stored escaped; recv must hand back the decoded text (checked below).
    expect(fixtureText("requests", "req_01a1fc6d2088b2c4d1e9f0")).toContain("caf\\u00e9 \\u2713");

    const validateResponse = compile(seedSchema("response"));
    expect(SEED_RESPONSE_IDS).toHaveLength(2);
    for (const id of SEED_RESPONSE_IDS) {
      expect(fixtureText("responses", id).endsWith("\n")).toBe(false);
      expectValid(validateResponse, fixture("responses", id), id);
    }
  });

  it("the seed schemas are strict, so passing them means something", () => {
    const validate = compile(seedSchema("request"));
    const good = fixture("requests", SEED_IDS[0]!);
    expectInvalid(validate, { ...good, extra: 1 }, "unknown top-level field");
    expectInvalid(validate, { ...good, from: { ...(good["from"] as Json), host: "x" } }, "unknown from field");
    expectInvalid(validate, { ...good, version: "1.0.1" }, "other version");
    expectInvalid(validate, { ...good, type: "chat" }, "unknown type");
    expectInvalid(validate, { ...good, ttl: -1 }, "negative ttl");
    expectInvalid(validate, { ...good, id: "req_ABC" }, "uppercase id");
    expectInvalid(validate, { ...good, timestamp: "yesterday" }, "not a date-time");
    expectInvalid(validate, without(good, "type"), "missing type");

    const validateResponse = compile(seedSchema("response"));
    const answer = fixture("responses", SEED_RESPONSE_IDS[0]!);
    expectInvalid(validateResponse, { ...answer, status: "timeout" }, "unknown status");
    expectInvalid(validateResponse, { ...answer, ttl: 300 }, "request-only field");
    expectInvalid(validateResponse, { ...answer, from: { agent: "a", pid: 1, pwd: "/" } }, "pwd in a response");
  });
});

describe("a channel made by the seed", () => {
  it("abq recv takes the seed's messages oldest first and abq respond leaves files where the seed expects", async () => {
    const bus = makeBus();
    seedHome(bus);
    dropSeedRequests(bus);
    const validateResponse = compile(seedSchema("response"));

    for (const [i, id] of SEED_IDS.entries()) {
      const got = await bus.abq(["recv", "work", "--json"]);
      expect(got.stderr).toBe("");
      expect(got.code).toBe(0);
      expect(parseJson(got.stdout), `message ${i} in send order`).toEqual(fixture("requests", id));
      // The claim is a rename: the seed's bytes are untouched.
      expect(readFileSync(channelPath(bus, "work", "processing", `${id}.json`), "utf8")).toBe(
        fixtureText("requests", id),
      );

      const args = i === 1 ? ["-s", "error", "-e", "boom", "-r", "partial"] : ["-r", `result ${i}`];
      const answered = await bus.abq(["respond", "work", id, ...args, "--json"]);
      expect(answered.stderr).toBe("");
      expect(answered.code).toBe(0);

      const response = readJson(channelPath(bus, "work", "responses", `${id}.json`));
      expectValid(validateResponse, response, `response to ${id}`);
      expect(response).toMatchObject(
        i === 1
          ? { id, version: "1.0.0", status: "error", result: "partial", error: "boom" }
          : { id, version: "1.0.0", status: "success", result: `result ${i}`, error: null },
      );
      expect(parseJson(answered.stdout)).toEqual(response);
      expect(readFileSync(channelPath(bus, "work", "archive", `${id}_request.json`), "utf8")).toBe(
        fixtureText("requests", id),
      );
      expect(existsSync(channelPath(bus, "work", "processing", `${id}.json`))).toBe(false);
    }

    const empty = await bus.abq(["recv", "work", "--json"]);
    expect(empty.code).toBe(4);
    expect(readdirSync(channelPath(bus, "work", "requests"))).toEqual([]);
    expect(readdirSync(channelPath(bus, "work", "processing"))).toEqual([]);
    expect(readdirSync(channelPath(bus, "work", "responses")).sort()).toEqual(SEED_IDS.map((id) => `${id}.json`));
    expect(readdirSync(channelPath(bus, "work", "archive")).sort()).toEqual(SEED_IDS.map((id) => `${id}_request.json`));
  });

  it("abq send delivers into a seed-made channel, creating tmp/ on demand", async () => {
    const bus = makeBus();
    seedHome(bus);
    expect(existsSync(channelPath(bus, "work", "tmp"))).toBe(false);

    const sent = await bus.abq(["send", "work", "command", '{"cmd": "ls"}', "--json"]);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    const message = parseJson(sent.stdout);
    const id = String(message["id"]);
    const onDisk = readJson(channelPath(bus, "work", "requests", `${id}.json`));
    expect(onDisk).toEqual(message);
    expectValid(compile(seedSchema("request")), onDisk, "abq's request in a seed channel");
    expect(onDisk).toMatchObject({ to: "work", type: "command", content: '{"cmd": "ls"}' });
    expect(readdirSync(channelPath(bus, "work", "tmp"))).toEqual([]);

    const got = await bus.abq(["recv", "work", "--json"]);
    expect(got.code).toBe(0);
    expect(parseJson(got.stdout)["id"]).toBe(id);
  });

  it("abq status, ls, show and channel list work on a seed-made home", async () => {
    const bus = makeBus();
    seedHome(bus);
    dropSeedRequests(bus);
    // A message the seed already answered: request archived, answer waiting in responses/.
    const answeredId = SEED_RESPONSE_IDS[0]!;
    writeFileSync(
      channelPath(bus, "work", "archive", `${answeredId}_request.json`),
      fixtureText("requests", answeredId),
    );
    writeFileSync(channelPath(bus, "work", "responses", `${answeredId}.json`), fixtureText("responses", answeredId));
    rmSync(channelPath(bus, "work", "requests", `${answeredId}.json`));
    const pendingIds = SEED_IDS.filter((id) => id !== answeredId);

    const status = await bus.abq(["status", "--json"]);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    const report = parseJson<{ channels: Json[] }>(status.stdout);
    const work = report.channels.find((c) => c["name"] === "work");
    expect(work).toMatchObject({ pending: pendingIds.length, processing: 0, responses: 1, archived: 1, rejected: 0 });
    expect(report.channels.find((c) => c["name"] === "broadcast")).toMatchObject({ pending: 0 });
    const text = await bus.abq(["status"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^work\s+4\s+0\s+0\s+1\s+1\s+0\b/m);

    const newest = await bus.abq(["ls", "work", "--json"]);
    expect(newest.code).toBe(0);
    expect(ndjson(newest.stdout).map((m) => m["id"])).toEqual([...pendingIds].reverse());
    expect(ndjson(newest.stdout)[0]).toEqual(fixture("requests", pendingIds.at(-1)!));
    const oldest = await bus.abq(["ls", "work", "-o", "--json"]);
    expect(ndjson(oldest.stdout).map((m) => m["id"])).toEqual(pendingIds);
    const counted = await bus.abq(["ls", "work", "-c"]);
    expect(counted.stdout.trim()).toBe(String(pendingIds.length));
    const table = await bus.abq(["ls", "work"]);
    expect(table.code).toBe(0);
    for (const id of pendingIds) expect(table.stdout).toContain(id);
    const responses = await bus.abq(["ls", "work", "responses", "--json"]);
    expect(responses.code).toBe(0);
    expect(ndjson(responses.stdout)).toEqual([fixture("responses", answeredId)]);

    const pending = await bus.abq(["show", pendingIds[0]!, "--json"]);
    expect(pending.stderr).toBe("");
    expect(pending.code).toBe(0);
    expect(parseJson(pending.stdout)).toMatchObject({
      channel: "work",
      state: "pending",
      request: fixture("requests", pendingIds[0]!),
    });
    const answered = await bus.abq(["show", answeredId, "--json"]);
    expect(answered.code).toBe(0);
    const found = parseJson(answered.stdout);
    expect(found).toMatchObject({
      channel: "work",
      request: fixture("requests", answeredId),
      response: fixture("responses", answeredId),
    });
    expect(["answered", "done"]).toContain(found["state"]);
    const shown = await bus.abq(["show", pendingIds[1]!]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`ID: ${pendingIds[1]}`);

    const channels = await bus.abq(["channel", "list"]);
    expect(channels.code).toBe(0);
    expect(channels.stdout.trim().split("\n")).toEqual(["broadcast", "work"]);
  });

  it("seed ids and abq ids interleave in send-time order", async () => {
    const bus = makeBus();
    seedHome(bus);
    dropSeedRequests(bus);

    // Written just now by a seed sender; then an abq send; then a seed sender whose clock runs a minute ahead.
    const now = Date.now();
    const before = seedId(now - 60_000);
    writeFileSync(
      channelPath(bus, "work", "requests", `${before}.json`),
      seedRequestText(before, now - 60_000, "work", "b"),
    );
    const sent = await bus.abq(["send", "work", "signal", "abq", "--json"]);
    expect(sent.code).toBe(0);
    const abqId = String(parseJson(sent.stdout)["id"]);
    const after = seedId(now + 60_000);
    writeFileSync(
      channelPath(bus, "work", "requests", `${after}.json`),
      seedRequestText(after, now + 60_000, "work", "a"),
    );

    // Plain string comparison is send-time order across both id formats. (The fixtures were sent on 2026-11-21 at
    // 04:46 UTC, so this holds on any machine whose clock is past that.)
    for (const id of SEED_IDS) expect(abqId > id, `${abqId} sorts after the 2026-11-21 04:46 seed id ${id}`).toBe(true);
    expect(before < abqId).toBe(true);
    expect(abqId < after).toBe(true);

    const order: string[] = [];
    for (;;) {
      const got = await bus.abq(["recv", "work", "--json"]);
      if (got.code === 4) break;
      expect(got.code).toBe(0);
      order.push(String(parseJson(got.stdout)["id"]));
    }
    expect(order).toEqual([...SEED_IDS, before, abqId, after]);
  });
});

describe("files abq writes pass the seed's published schemas", () => {
  it("requests from abq send, with and without --reply-to", async () => {
    const bus = makeBus();
    expect((await bus.abq(["init"])).code).toBe(0);
    expect((await bus.abq(["channel", "create", "ch"])).code).toBe(0);
    const validate = compile(seedSchema("request"));

    const sends = [
      ["send", "ch", "signal", "hello"],
      ["send", "ch", "command", '{"cmd": "make test"}', "--reply-to", "results"],
      ["send", "ch", "eval", "(+ 1 2)", "--ttl", "0"],
      ["send", "ch", "status", "", "--allow-empty"],
    ];
    for (const args of sends) {
      const sent = await bus.abq([...args, "--json"]);
      expect(sent.stderr, args.join(" ")).toBe("");
      expect(sent.code).toBe(0);
      const id = String(parseJson(sent.stdout)["id"]);
      expect(id).toMatch(/^req_[0-9a-f]+$/);
      const onDisk = readJson(channelPath(bus, "ch", "requests", `${id}.json`));
      expectValid(validate, onDisk, args.join(" "));
      expect(onDisk["timestamp"]).toMatch(SEED_TIMESTAMP);
      expect(onDisk["version"]).toBe("1.0.0");
      if (args.includes("--reply-to")) expect(onDisk["reply_to"]).toBe("results");
      else expect(onDisk).not.toHaveProperty("reply_to");
    }

    const piped = await bus.abq(["send", "ch", "command", "-", "--json"], { input: '{"cmd": "from stdin"}' });
    expect(piped.code).toBe(0);
    const id = String(parseJson(piped.stdout)["id"]);
    const onDisk = readJson(channelPath(bus, "ch", "requests", `${id}.json`));
    expectValid(validate, onDisk, "content from stdin");
    expect(onDisk["content"]).toBe('{"cmd": "from stdin"}');
  });

  it("responses from abq respond: success, error and pending", async () => {
    const bus = makeBus();
    expect((await bus.abq(["channel", "create", "ch"])).code).toBe(0);
    const validate = compile(seedSchema("response"));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await bus.abq(["send", "ch", "command", `job ${i}`, "--json"]);
      ids.push(String(parseJson(sent.stdout)["id"]));
      expect((await bus.abq(["recv", "ch"])).code).toBe(0);
    }
    const [ok, failed, slow] = ids as [string, string, string];
    const cases: Array<[string, string[], Json]> = [
      [ok, ["-r", "all green"], { status: "success", result: "all green", error: null }],
      [failed, ["-s", "error", "-e", "exit 2"], { status: "error", error: "exit 2" }],
      [slow, ["-s", "pending", "-r", "50%"], { status: "pending", result: "50%", error: null }],
      [slow, ["-s", "success", "-r", "done"], { status: "success", result: "done", error: null }],
    ];
    for (const [id, args, expected] of cases) {
      const answered = await bus.abq(["respond", "ch", id, ...args]);
      expect(answered.stderr, args.join(" ")).toBe("");
      expect(answered.code).toBe(0);
      const response = readJson(channelPath(bus, "ch", "responses", `${id}.json`));
      expectValid(validate, response, `${id} ${args.join(" ")}`);
      expect(response).toMatchObject({ id, version: "1.0.0", ...expected });
      expect(response["timestamp"]).toMatch(SEED_TIMESTAMP);
    }
    for (const id of ids) {
      expect(existsSync(channelPath(bus, "ch", "archive", `${id}_request.json`)), id).toBe(true);
    }
  });

  it("registry.json keeps the seed's keys and a pubsub broadcast channel", async () => {
    const fresh = makeBus();
    expect((await fresh.abq(["init"])).code).toBe(0);
    const registry = readJson(join(fresh.home, "registry.json"));
    expect(Object.keys(registry)).toEqual(expect.arrayContaining(["version", "created", "agents", "channels"]));
    expect(registry["version"]).toBe("1.0.0");
    expect(isDateTime(String(registry["created"]))).toBe(true);
    expect(registry["agents"]).toEqual({});
    expect(registry["channels"]).toMatchObject({ broadcast: { type: "pubsub" } });
    for (const sub of SEED_STATE_DIRS) expect(existsSync(channelPath(fresh, "broadcast", sub)), sub).toBe(true);

    // abq on a home the seed initialised: the seed's registry survives init and channel changes.
    const seeded = makeBus();
    seedHome(seeded);
    const original = readJson(join(seeded.home, "registry.json"));
    expect((await seeded.abq(["init"])).code).toBe(0);
    expect((await seeded.abq(["channel", "create", "extra"])).code).toBe(0);
    const after = readJson(join(seeded.home, "registry.json"));
    expect(after).toMatchObject({
      version: "1.0.0",
      created: original["created"],
      agents: {},
      channels: { broadcast: { type: "pubsub", description: "Global broadcast channel" } },
    });
    expect(Object.keys(after["channels"] as Json)).toEqual(expect.arrayContaining(["broadcast", "work", "extra"]));
  });
});

describe("abq schema", () => {
  async function printed(bus: Bus, kind: "request" | "response"): Promise<ValidateFunction> {
    const out = await bus.abq(["schema", kind]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const schema = parseJson(out.stdout);
    expect(schema["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema");
    return compile(schema);
  }

  it("prints a request schema that accepts the seed's requests and abq's own", async () => {
    const bus = makeBus();
    const validate = await printed(bus, "request");
    for (const id of SEED_IDS) expectValid(validate, fixture("requests", id), id);

    expect((await bus.abq(["channel", "create", "ch"])).code).toBe(0);
    const sent = await bus.abq(["send", "ch", "signal", "x", "--reply-to", "back", "--json"]);
    const id = String(parseJson(sent.stdout)["id"]);
    expectValid(validate, readJson(channelPath(bus, "ch", "requests", `${id}.json`)), "abq's request");

    // It is not vacuous: what the seed schema rejects for missing or wrong fields, so does abq's.
    const good = fixture("requests", SEED_IDS[0]!);
    expectInvalid(validate, without(good, "type"), "missing type");
    expectInvalid(validate, { ...good, type: "bogus" }, "bad type");
    expectInvalid(validate, { ...good, id: "msg_1" }, "bad id");
    expectInvalid(validate, { ...good, ttl: 1.5 }, "fractional ttl");
  });

  it("prints a response schema that accepts the seed's responses and abq's own", async () => {
    const bus = makeBus();
    const validate = await printed(bus, "response");
    for (const id of SEED_RESPONSE_IDS) expectValid(validate, fixture("responses", id), id);

    expect((await bus.abq(["channel", "create", "ch"])).code).toBe(0);
    const sent = await bus.abq(["send", "ch", "signal", "x", "--json"]);
    const id = String(parseJson(sent.stdout)["id"]);
    expect((await bus.abq(["recv", "ch"])).code).toBe(0);
    expect((await bus.abq(["respond", "ch", id, "-r", "ok"])).code).toBe(0);
    expectValid(validate, readJson(channelPath(bus, "ch", "responses", `${id}.json`)), "abq's response");

    const good = fixture("responses", SEED_RESPONSE_IDS[0]!);
    expectInvalid(validate, { ...good, status: "timeout" }, "unknown status");
    expectInvalid(validate, without(good, "error"), "missing error");
  });
});
