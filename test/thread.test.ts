/**
 * Threads (issue 13): every message belongs to a conversation whose id is its first message's id. Replies
 * delivered to a reply_to channel inherit it, `send --thread` joins one, `abq thread <id>` shows it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { type Bus, makeBus, parseJson, ROOT, sendJson } from "./helpers.ts";

type Json = Record<string, unknown>;

interface Line {
  thread: string;
  channel: string;
  state: string;
  request: { id: string; type: string; content: string; thread?: string; in_reply_to?: string };
  response?: { status: string; result: string };
}

async function setup(): Promise<Bus> {
  const bus = makeBus();
  expect((await bus.abq(["init"])).code).toBe(0);
  expect((await bus.abq(["channel", "create", "work"])).code).toBe(0);
  return bus;
}

async function threadJson(bus: Bus, id: string): Promise<Line[]> {
  const r = await bus.abq(["thread", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => parseJson<Line>(l));
}

/** The one message pending in `channel`, as `ls --json` prints it. */
async function onlyPending(bus: Bus, channel: string): Promise<Json> {
  const ls = await bus.abq(["ls", channel, "--json"]);
  expect(ls.code, ls.stderr).toBe(0);
  const lines = ls.stdout.trim().split("\n");
  expect(lines).toHaveLength(1);
  return parseJson(lines[0]!);
}

function readRequest(bus: Bus, channel: string, state: string, id: string): Json {
  return parseJson(readFileSync(join(bus.home, "channels", channel, state, `${id}.json`), "utf8"));
}

describe("abq thread", () => {
  it("a reply delivery carries the request's id as its thread (recv + respond)", async () => {
    const bus = await setup();
    const request = await sendJson(bus, ["work", "command", "review PR 42", "--reply-to", "inbox"]);
    expect(request).not.toHaveProperty("thread");
    expect(readRequest(bus, "work", "requests", request.id)).not.toHaveProperty("thread");
    expect((await bus.abq(["recv", "work"])).code).toBe(0);
    expect((await bus.abq(["respond", "work", request.id, "-r", "LGTM"])).code).toBe(0);
    expect(await onlyPending(bus, "inbox")).toMatchObject({ in_reply_to: request.id, thread: request.id });
  });

  it("a reply delivery from a watcher carries it too, and a message sent on it joins; thread lists them all", async () => {
    const bus = await setup();
    const root = await sendJson(bus, ["work", "command", "review PR 42\nsecond line", "--reply-to", "inbox"]);
    const watched = await bus.abq(["watch", "work", "-H", "echo reviewed", "--once"]);
    expect(watched.code, watched.stderr).toBe(0);
    const reply = await onlyPending(bus, "inbox");
    expect(reply).toMatchObject({ in_reply_to: root.id, thread: root.id, type: "status" });
    const follow = await sendJson(bus, ["work", "signal", "thanks", "--thread", String(reply["id"])]);
    expect(follow).toMatchObject({ thread: reply["id"] });
    const joined = await sendJson(bus, ["inbox", "signal", "one more", "--thread", root.id]);
    expect(joined).toMatchObject({ thread: root.id });
    const unrelated = await sendJson(bus, ["work", "signal", "other business"]);

    // The root, the reply and the message that named the root; in send order, from the root or a member.
    const expected = [
      { channel: "work", state: "done", id: root.id, type: "command" },
      { channel: "inbox", state: "pending", id: String(reply["id"]), type: "status" },
      { channel: "inbox", state: "pending", id: joined.id, type: "signal" },
    ];
    for (const id of [root.id, String(reply["id"]), joined.id]) {
      const lines = await threadJson(bus, id);
      expect(
        lines.map((l) => ({ channel: l.channel, state: l.state, id: l.request.id, type: l.request.type })),
        id,
      ).toEqual(expected);
      expect(new Set(lines.map((l) => l.thread))).toEqual(new Set([root.id]));
      expect(lines[0]!.response?.status).toBe("success");
      expect(lines[0]!.response?.result).toMatch(/^reviewed /);
      expect(lines.map((l) => l.request.id)).not.toContain(unrelated.id);
    }
    // `thanks` named the reply, not the root: it is a thread of its own, under the reply's id.
    expect((await threadJson(bus, follow.id)).map((l) => l.request.id)).toEqual([String(reply["id"]), follow.id]);

    const text = await bus.abq(["thread", root.id]);
    expect(text.code, text.stderr).toBe(0);
    const out = text.stdout.split("\n");
    expect(out[0]).toBe(`Thread ${root.id}: 3 messages`);
    expect(out[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}work {3}done {5}test\/agent {2}command {2}review PR 42$/);
    expect(out[2]).toMatch(/^ {4}success from test\/agent: reviewed /);
    expect(out[3]).toMatch(/ {2}inbox {2}pending {2}test\/agent {2}status {3}\{"id":/);
    expect(out[4]).toMatch(/ {2}inbox {2}pending {2}test\/agent {2}signal {3}one more$/);
  });

  it("escapes control characters in the text view", async () => {
    const bus = await setup();
    const sent = await sendJson(bus, ["work", "signal", "red \u001b[31malert"]);
    const text = await bus.abq(["thread", sent.id]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("red \\u001b[31malert");
    expect(text.stdout).not.toContain("\u001b");
  });

  it("a message without a thread is a thread of one", async () => {
    const bus = await setup();
    const sent = await sendJson(bus, ["work", "signal", "hello"]);
    const lines = await threadJson(bus, sent.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ thread: sent.id, channel: "work", state: "pending", request: { id: sent.id } });
    expect(lines[0]!.request).not.toHaveProperty("thread");
    expect((await bus.abq(["thread", sent.id])).stdout).toMatch(/^Thread req_[0-9a-f]+: 1 message\n/);
  });

  it("an invalid id is a usage error (2), an unknown one not found (3)", async () => {
    const bus = await setup();
    const bad = await bus.abq(["thread", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'nope' is not a message id/);
    const unknown = await bus.abq(["thread", "req_0123456789abcdef"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/no message req_0123456789abcdef/);
    const badJoin = await bus.abq(["send", "work", "signal", "x", "--thread", "../x"]);
    expect(badJoin.code).toBe(2);
    expect(badJoin.stderr).toMatch(/thread '\.\.\/x' is not a message id/);
    expect((await bus.abq(["ls", "work", "--count"])).stdout.trim()).toBe("0");
  });
});

describe("the thread field and the seed's schemas", () => {
  const seedSchema = parseJson(readFileSync(join(ROOT, "test", "fixtures", "seed", "request.schema.json"), "utf8"));

  function compile(schema: unknown): ValidateFunction {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
    return ajv.compile(schema as Json);
  }

  it("new messages do not carry it (seed-valid as before); abq's schema accepts it where it is written", async () => {
    const bus = await setup();
    const seed = compile(seedSchema);
    const root = await sendJson(bus, ["work", "command", "x", "--reply-to", "inbox"]);
    const onDisk = readRequest(bus, "work", "requests", root.id);
    expect(seed(onDisk), JSON.stringify(seed.errors)).toBe(true);

    const joined = await sendJson(bus, ["work", "signal", "y", "--thread", root.id]);
    const withThread = readRequest(bus, "work", "requests", joined.id);
    expect(withThread["thread"]).toBe(root.id);
    const printed = await bus.abq(["schema", "request"]);
    const abqSchema = compile(parseJson(printed.stdout));
    expect(abqSchema(withThread), JSON.stringify(abqSchema.errors)).toBe(true);
    expect(abqSchema({ ...withThread, thread: "not-an-id" })).toBe(false);

    // The seed's published schema is strict (additionalProperties: false): like `in_reply_to`, `thread` is an
    // abq extension it does not list. Seed code reads messages as dicts and ignores it; without the field
    // the message is exactly seed-shaped.
    expect(seed(withThread)).toBe(false);
    const seedShaped = { ...withThread };
    delete seedShaped["thread"];
    expect(seed(seedShaped), JSON.stringify(seed.errors)).toBe(true);
  });
});
