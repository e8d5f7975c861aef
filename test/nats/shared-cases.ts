/**
 * Behaviours every transport must have, written once against the CLI and run by each transport's suite
 * (test/nats-*.test.ts runs them on JetStream and, where cheap, on the filesystem too). A case gets a
 * factory for a fresh bus: a temp ABQ_HOME, plus ABQ_URL for NATS. Each case uses its own channel names,
 * because the NATS suites share one server per file.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { CLI, parseJson, startNode, until, type Bus } from "../helpers.ts";

export type BusFactory = (extraEnv?: NodeJS.ProcessEnv) => Bus;

const HANDLERS = join(import.meta.dirname, "..", "fixtures", "handlers");
let counter = 0;
/** A channel name no other case uses. */
export function fresh(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

interface Shown {
  state: string;
  reason?: Record<string, unknown>;
  request?: Record<string, unknown>;
  response?: { status: string; result: string; error: string | null; from: { agent: string } };
}

export async function shown(bus: Bus, id: string): Promise<Shown> {
  const r = await bus.abq(["show", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<Shown>(r.stdout);
}

export async function sendOne(bus: Bus, ch: string, content: string, extra: string[] = []): Promise<string> {
  const r = await bus.abq(["send", ch, "command", content, "--json", ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

/** The request fields of protocol 1.0.0, in the order the filesystem writes them. */
const REQUEST_KEYS = ["id", "version", "type", "from", "to", "content", "timestamp", "ttl"];

/** send, recv, respond and show, each a separate process; a second answer is refused (exit 7). */
export async function sendRecvRespond(makeBus: BusFactory): Promise<void> {
  const bus = makeBus();
  const ch = fresh("q");
  expect((await bus.abq(["channel", "create", ch, "-d", "jobs"])).code).toBe(0);
  const sent = parseJson<Record<string, unknown>>((await bus.abq(["send", ch, "command", '{"n":1}', "--json"])).stdout);
  expect(Object.keys(sent)).toEqual(REQUEST_KEYS);
  const got = await bus.abq(["recv", ch, "--json"]);
  expect(got.code, got.stderr).toBe(0);
  expect(parseJson(got.stdout)).toEqual(sent); // byte-identical in shape and value
  expect((await bus.abq(["recv", ch])).code).toBe(4); // nothing else pending
  const ls = await bus.abq(["ls", ch, "processing", "--json"]);
  expect(ls.stdout).toContain(sent["id"] as string);
  const answered = await bus.abq(["respond", ch, sent["id"] as string, "--result", "done"]);
  expect(answered.code, answered.stderr).toBe(0);
  const again = await bus.abq(["respond", ch, sent["id"] as string, "--result", "twice"]);
  expect(again.code).toBe(7);
  expect(again.stderr.trim().split("\n")).toHaveLength(1);
  const s = await shown(bus, sent["id"] as string);
  expect(s.state).toBe("done");
  expect(s.response?.result).toBe("done");
  expect(s.request).toEqual(sent);
  const status = parseJson<{ channels: { name: string; pending: number; processing: number }[] }>(
    (await bus.abq(["status", "--json"])).stdout,
  );
  expect(status.channels.find((c) => c.name === ch)).toMatchObject({ pending: 0, processing: 0 });
  expect((await bus.abq(["respond", ch, "req_0123456789abcdef0123456789abcdef", "--result", "x"])).code).toBe(3);
  expect((await bus.abq(["send", fresh("missing"), "signal", "hi"])).code).toBe(3);
}

/** A watcher with a handler answers `ask` and `send --wait`; the handler gets the message file as $1. */
export async function askAndWatch(makeBus: BusFactory): Promise<void> {
  const bus = makeBus();
  const ch = fresh("ask");
  await bus.abq(["channel", "create", ch]);
  // The handler checks that $1 is the message (same id as the env says) before answering.
  const handler = `test "$(sed -n 's/^  "id": "\\(.*\\)",$/\\1/p' "$1")" = "$ABQ_MSG_ID" && printf 'got:%s' "$ABQ_MSG_CONTENT" && :`;
  const w = startNode([CLI, "watch", ch, "--handler", handler], { env: bus.env, timeoutMs: 60_000 });
  try {
    const asked = await bus.abq(["ask", ch, "command", "hello", "--timeout", "20", "--json"]);
    expect(asked.code, asked.stderr).toBe(0);
    expect(parseJson<{ status: string; result: string }>(asked.stdout)).toMatchObject({
      status: "success",
      result: "got:hello",
    });
    const waited = await bus.abq(["send", ch, "command", "again", "--wait", "--timeout", "20"]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain("got:again");
  } finally {
    w.child.kill("SIGTERM");
    await w.done;
  }
}

/** `watch --handler` end to end: every message handled once, answered with stdout; failures answered error. */
export async function watchHandler(makeBus: BusFactory): Promise<void> {
  const bus = makeBus();
  const ch = fresh("w");
  const record = join(bus.root, "handled.txt");
  await bus.abq(["channel", "create", ch]);
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await sendOne(bus, ch, `m${i}`));
  const failing = await sendOne(bus, ch, "boom");
  const handler = `test "$ABQ_MSG_CONTENT" != boom || { echo broken >&2; exit 3; }; test -f "$1" && ${join(HANDLERS, "record.sh")}`;
  const w = startNode([CLI, "watch", ch, "--handler", handler, "--once"], {
    env: { ...bus.env, RECORD_FILE: record },
    timeoutMs: 60_000,
  });
  const done = await w.done;
  expect(done.code, done.stderr).toBe(0);
  expect(readFileSync(record, "utf8").trim().split("\n").sort()).toEqual([...ids].sort());
  for (const id of ids)
    expect((await shown(bus, id)).response).toMatchObject({ status: "success", result: `done ${id}` });
  expect((await shown(bus, failing)).response).toMatchObject({ status: "error", error: "broken" });
}

/** Two watchers on one queue: every message handled exactly once. */
export async function competingWatchers(makeBus: BusFactory, count = 30): Promise<void> {
  const bus = makeBus();
  const ch = fresh("cw");
  const record = join(bus.root, "handled.txt");
  await bus.abq(["channel", "create", ch]);
  const env = { ...bus.env, RECORD_FILE: record };
  const watchers = [1, 2].map(() =>
    startNode([CLI, "watch", ch, "--handler", join(HANDLERS, "record.sh"), "-j", "2"], { env, timeoutMs: 120_000 }),
  );
  try {
    const ids = await Promise.all(Array.from({ length: count }, (_, i) => sendOne(bus, ch, `job ${i}`)));
    await until(() => existsSync(record) && readFileSync(record, "utf8").trim().split("\n").length >= count, 60_000);
    await until(async () => {
      const st = parseJson<{ channels: { name: string; processing: number }[] }>(
        (await bus.abq(["status", "--json"])).stdout,
      );
      return st.channels.find((c) => c.name === ch)?.processing === 0;
    }, 20_000);
    const lines = readFileSync(record, "utf8").trim().split("\n");
    expect(lines.sort()).toEqual([...ids].sort()); // each once, none twice
  } finally {
    for (const w of watchers) w.child.kill("SIGTERM");
    await Promise.all(watchers.map((w) => w.done));
  }
}

/** A topic: each named subscriber gets its own copy; anonymous consumers share one more. */
export async function topicSubscribers(makeBus: BusFactory): Promise<void> {
  const bus = makeBus();
  const t = fresh("topic");
  expect((await bus.abq(["channel", "create", t, "--topic"])).code).toBe(0);
  for (const s of ["alice", "bob"]) expect((await bus.abq(["subscribe", t, s])).code).toBe(0);
  const id = await sendOne(bus, t, "news");
  const alice = await bus.abq(["recv", t, "--as", "alice", "--json"]);
  const bob = await bus.abq(["recv", t, "--as", "bob", "--json"]);
  const anyone = await bus.abq(["recv", t, "--json"]);
  for (const r of [alice, bob, anyone]) {
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ id: string }>(r.stdout).id).toBe(id);
  }
  expect((await bus.abq(["recv", t, "--as", "alice"])).code).toBe(4);
  expect((await bus.abq(["respond", t, id, "--as", "alice", "--result", "a"])).code).toBe(0);
  // Bob's copy is still his to answer, independently of Alice's.
  expect((await bus.abq(["respond", t, id, "--as", "bob", "--result", "b"])).code).toBe(0);
  expect((await bus.abq(["respond", t, id, "--as", "bob", "--result", "b2"])).code).toBe(7);
  const listed = parseJson<{ channels: { name: string; subscriber?: string }[] }>(
    (await bus.abq(["status", "--json"])).stdout,
  );
  expect(listed.channels.filter((c) => c.name === t).map((c) => c.subscriber ?? "-")).toEqual(["-", "alice", "bob"]);
  expect((await bus.abq(["recv", t, "--as", "carol"])).code).toBe(3);
}

/** cancel withdraws a pending message (not a claimed one); purge withdraws the rest; both are archived, as withdrawn. */
export async function cancelAndPurge(makeBus: BusFactory): Promise<void> {
  const bus = makeBus();
  const ch = fresh("cp");
  await bus.abq(["channel", "create", ch]);
  const [a, b, c, d] = [
    await sendOne(bus, ch, "a"),
    await sendOne(bus, ch, "b"),
    await sendOne(bus, ch, "c"),
    await sendOne(bus, ch, "d"),
  ];
  expect((await bus.abq(["cancel", ch, b])).code).toBe(0);
  const cancelled = await shown(bus, b);
  expect(cancelled.state).toBe("withdrawn");
  expect(cancelled.reason?.["reason"]).toMatch(/^cancelled by /);
  expect((await bus.abq(["cancel", ch, b])).code).toBe(7);
  const claimed = parseJson<{ id: string }>((await bus.abq(["recv", ch, "--json"])).stdout);
  expect(claimed.id).toBe(a); // oldest first, the cancelled one skipped
  expect((await bus.abq(["cancel", ch, a])).code).toBe(7); // claimed: too late
  const purged = await bus.abq(["purge", ch, "--yes", "--reason", "stale", "--json"]);
  expect(purged.code, purged.stderr).toBe(0);
  for (const id of [c, d]) expect(purged.stdout).toContain(id);
  expect((await bus.abq(["recv", ch])).code).toBe(4);
  expect((await bus.abq(["ls", ch, "archive", "-c"])).stdout.trim()).toBe("3");
  expect((await bus.abq(["respond", ch, a, "--result", "ok"])).code).toBe(0);
}
