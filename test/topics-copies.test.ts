/**
 * Topic fan-out copies are separate files: each named subscriber's copy is its own inode (a reflink or a
 * real copy, never a hard link), so a handler that writes to `$1` (root ignores the read-only mode) cannot
 * touch another subscriber's copy or the shared one. Through the built CLI, with real `abq watch`
 * handlers and a real SIGKILL (ABQ_CRASH_AT).
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, runNode, sendJson, type Bus } from "./helpers.ts";

interface Msg {
  id: string;
  content: string;
}

const chan = (bus: Bus, ...parts: string[]): string => join(bus.home, "channels", ...parts);
const sub = (bus: Bus, name: string, ...parts: string[]): string => chan(bus, "news", "subscribers", name, ...parts);
const ls = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

async function topicWith(bus: Bus, subscribers: string[], extra: string[] = []): Promise<void> {
  const made = await bus.abq(["channel", "create", "news", "--topic", ...extra]);
  expect(made.code, made.stderr).toBe(0);
  for (const name of subscribers) {
    const r = await bus.abq(["subscribe", "news", name]);
    expect(r.code, r.stderr).toBe(0);
  }
}

/** The shared copy and every subscriber's copy of `file` are distinct inodes with one name each. */
function expectSeparateCopies(bus: Bus, file: string, subscribers: string[], mode: number): void {
  const paths = [chan(bus, "news", "requests", file), ...subscribers.map((s) => sub(bus, s, "requests", file))];
  const stats = paths.map((p) => statSync(p));
  expect(new Set(stats.map((st) => st.ino)).size).toBe(paths.length);
  for (const [i, st] of stats.entries()) {
    expect(st.nlink, paths[i]).toBe(1);
    expect(st.mode & 0o777, paths[i]).toBe(mode);
  }
  const bytes = paths.map((p) => readFileSync(p, "utf8"));
  for (const b of bytes) expect(b).toBe(bytes[0]);
  // Nothing staged is left behind in any subscriber's tmp/.
  for (const s of subscribers) expect(ls(sub(bus, s, "tmp"))).toEqual([]);
}

describe("topic fan-out copies", () => {
  it("a handler that rewrites $1 changes only its own copy; the other subscriber and the shared copy are intact", async () => {
    const bus = makeBus();
    await topicWith(bus, ["alice", "bob"]);
    const sent = await sendJson(bus, ["news", "signal", "hello everyone"]);
    const file = `${sent.id}.json`;
    expect(ls(chan(bus, "news", "fanout"))).toEqual([]);
    expectSeparateCopies(bus, file, ["alice", "bob"], 0o400);
    const original = readFileSync(chan(bus, "news", "requests", file), "utf8");

    // alice's handler scribbles over the file it was given (as root here, mode 0400 does not stop it).
    const handler = join(bus.root, "scribble.sh");
    writeFileSync(handler, `#!/bin/sh\nprintf 'not json any more' > "$1"\necho scribbled\n`);
    chmodSync(handler, 0o755);
    const alice = await runNode([CLI, "watch", "news", "--as", "alice", "--once", "--handler", handler], {
      env: bus.env,
      cwd: bus.root,
      timeoutMs: 60_000,
    });
    expect(alice.code, alice.stderr).toBe(0);
    expect(readFileSync(sub(bus, "alice", "archive", `${sent.id}_request.json`), "utf8")).toBe("not json any more");

    // bob's copy and the shared copy still hold the message as published.
    expect(readFileSync(sub(bus, "bob", "requests", file), "utf8")).toBe(original);
    expect(readFileSync(chan(bus, "news", "requests", file), "utf8")).toBe(original);

    // bob receives and answers his copy normally; nothing of his is rejected.
    const got = await bus.abq(["recv", "news", "--as", "bob", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson<Msg>(got.stdout)).toMatchObject({ id: sent.id, content: "hello everyone" });
    const answered = await bus.abq(["respond", "news", sent.id, "--as", "bob", "-r", "read it"]);
    expect(answered.code, answered.stderr).toBe(0);
    expect(ls(sub(bus, "bob", "rejected"))).toEqual([]);
    expect(ls(sub(bus, "bob", "archive"))).toEqual([`${sent.id}_request.json`]);
    expect(readFileSync(sub(bus, "bob", "archive", `${sent.id}_request.json`), "utf8")).toBe(original);

    // The anonymous consumers' copy is untouched too.
    const anon = await bus.abq(["recv", "news", "--json"]);
    expect(anon.code, anon.stderr).toBe(0);
    expect(parseJson<Msg>(anon.stdout)).toMatchObject({ id: sent.id, content: "hello everyone" });
  });

  it("overwriting one subscriber's copy directly leaves the others' bytes and inodes alone", async () => {
    const bus = makeBus();
    await topicWith(bus, ["alice", "bob", "carol"]);
    const sent = await sendJson(bus, ["news", "signal", "x".repeat(70_000)]);
    const file = `${sent.id}.json`;
    expectSeparateCopies(bus, file, ["alice", "bob", "carol"], 0o400);
    const original = readFileSync(chan(bus, "news", "requests", file), "utf8");
    writeFileSync(sub(bus, "bob", "requests", file), "{}");
    for (const path of [sub(bus, "alice", "requests", file), sub(bus, "carol", "requests", file)]) {
      expect(readFileSync(path, "utf8")).toBe(original);
    }
    expect(readFileSync(chan(bus, "news", "requests", file), "utf8")).toBe(original);
    for (const name of ["alice", "carol"]) {
      const got = await bus.abq(["recv", "news", "--as", name, "--json"]);
      expect(got.code, got.stderr).toBe(0);
      expect(parseJson<Msg>(got.stdout).id).toBe(sent.id);
    }
  });

  it("a group topic's copies are readable by the group (0440), still one inode each", async () => {
    const bus = makeBus();
    await topicWith(bus, ["alice", "bob"], ["--group"]);
    const sent = await sendJson(bus, ["news", "signal", "for the team"]);
    expectSeparateCopies(bus, `${sent.id}.json`, ["alice", "bob"], 0o440);
  });

  it("a subscriber queue without tmp/ (made by hand or an older abq) still gets its copy, with fsync off too", async () => {
    const bus = makeBus();
    await topicWith(bus, ["alice", "bob"]);
    rmSync(sub(bus, "bob", "tmp"), { recursive: true });
    const sent = await sendJson(bus, ["news", "signal", "no tmp"]);
    expectSeparateCopies(bus, `${sent.id}.json`, ["alice", "bob"], 0o400);
    const quick = await bus.abq(["send", "news", "signal", "unsynced", "--json"], { env: { ABQ_FSYNC: "0" } });
    expect(quick.code, quick.stderr).toBe(0);
    expectSeparateCopies(bus, `${parseJson<Msg>(quick.stdout).id}.json`, ["alice", "bob"], 0o400);
  });

  it("a publisher killed at publish:committed: recovery gives each subscriber its own copy, exactly once", async () => {
    const bus = makeBus();
    await topicWith(bus, ["alice", "bob"]);
    const crashed = await bus.abq(["send", "news", "signal", "crashy"], { env: { ABQ_CRASH_AT: "publish:committed" } });
    expect(crashed.signal).toBe("SIGKILL");
    const [file, ...more] = ls(chan(bus, "news", "fanout"));
    expect(more).toEqual([]);
    for (const name of ["alice", "bob"]) expect(ls(sub(bus, name, "requests"))).toEqual([]);

    // A subscriber's claim completes the abandoned fan-out.
    const past = new Date(Date.now() - 10_000);
    utimesSync(chan(bus, "news", "fanout", file!), past, past);
    const alice = await bus.abq(["recv", "news", "--as", "alice", "--json"]);
    expect(alice.code, alice.stderr).toBe(0);
    expect(parseJson<Msg>(alice.stdout).content).toBe("crashy");
    expect(ls(chan(bus, "news", "fanout"))).toEqual([]);
    const bobCopy = statSync(sub(bus, "bob", "requests", file!));
    const shared = statSync(chan(bus, "news", "requests", file!));
    const aliceCopy = statSync(sub(bus, "alice", "processing", file!));
    expect(new Set([bobCopy.ino, shared.ino, aliceCopy.ino]).size).toBe(3);
    for (const st of [bobCopy, shared, aliceCopy]) expect(st.nlink).toBe(1);
    for (const name of ["alice", "bob"]) expect(ls(sub(bus, name, "tmp"))).toEqual([]);

    // Each got it once: bob's first recv has it, the second finds nothing; alice has nothing more.
    const bob = await bus.abq(["recv", "news", "--as", "bob", "--json"]);
    expect(bob.code, bob.stderr).toBe(0);
    expect(parseJson<Msg>(bob.stdout).content).toBe("crashy");
    for (const name of ["alice", "bob"]) expect((await bus.abq(["recv", "news", "--as", name])).code).toBe(4);
  });
});
