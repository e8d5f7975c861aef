/**
 * `abq kv` against hostile input on the file spool: bad names (NUL included), oversized values, bad
 * revisions, symbolic links and world-writable folders at each level, a corrupt record, and what a writer
 * killed at each step of a put leaves behind (the next reader repairs it).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bus, makeBus, runNode, startNode, tempDir } from "./helpers.ts";

async function ok(b: Bus, args: string[]): Promise<void> {
  const r = await b.abq(args);
  expect(r.code, r.stderr).toBe(0);
}

describe("abq kv on hostile input", () => {
  it("refuses bad names, oversized values and bad revisions with one line and exit 2", async () => {
    const b = makeBus();
    for (const args of [
      ["set", "../x", "k", "v"],
      ["set", "Upper", "k", "v"],
      ["set", "b", "a/b", "v"],
      ["set", "b", "..", "v"],
      ["set", "b", ".hidden", "v"],
      ["set", "b", "a..b", "v"],
      ["set", "b", "x".repeat(201), "v"],
      ["get", "b", "trailing."],
      ["set", "b", "k", "v", "--if-revision", "-1"],
      ["set", "b", "k", "v", "--ttl", "soon"],
    ]) {
      const r = await b.abq(["kv", ...args]);
      expect([r.code, r.stderr.trim().split("\n")], args.join(" ")).toEqual([2, [expect.stringMatching(/^abq: /)]]);
    }
    const big = await b.abq(["kv", "set", "b", "k", "-"], { input: "x".repeat(256 * 1024 + 1) });
    expect([big.code, big.stderr]).toEqual([2, expect.stringContaining("over the 262144-byte kv limit")]);
    expect(existsSync(join(b.home, "kv", "b", "k"))).toBe(false);
    // NUL bytes cannot come through argv; through the library they are a bad name, and fine in a value.
    const { kvSet, kvGet } = await import("../src/kv/kv.ts");
    await expect(kvSet({ home: b.home, bucket: "b", key: "a\0b", value: "v" })).rejects.toMatchObject({
      code: "E_BAD_NAME",
    });
    await kvSet({ home: b.home, bucket: "b", key: "nul", value: "a\0b" });
    expect((await kvGet({ home: b.home, bucket: "b", key: "nul" })).value).toBe("a\0b");
    await ok(b, ["kv", "set", "b", "empty", ""]);
    expect((await b.abq(["kv", "get", "b", "empty", "--json"])).stdout).toContain('"value":""');
  });

  it("refuses a symlinked or world-writable folder at every level with exit 9", async () => {
    const b = makeBus();
    await ok(b, ["kv", "set", "b", "k", "v"]);
    const elsewhere = tempDir();
    // The bucket folder a link
    renameSync(join(b.home, "kv", "b"), join(elsewhere, "b"));
    symlinkSync(join(elsewhere, "b"), join(b.home, "kv", "b"));
    const linked = await b.abq(["kv", "get", "b", "k"]);
    expect([linked.code, linked.stderr]).toEqual([9, expect.stringContaining("is a symbolic link")]);
    // A key folder that is a link
    mkdirSync(join(b.home, "kv", "c"));
    mkdirSync(join(elsewhere, "k"));
    symlinkSync(join(elsewhere, "k"), join(b.home, "kv", "c", "k"));
    expect((await b.abq(["kv", "set", "c", "k", "v"])).code).toBe(9);
    // kv/ writable by everyone
    chmodSync(join(b.home, "kv"), 0o777);
    const open = await b.abq(["kv", "ls", "d"]);
    expect([open.code, open.stderr]).toEqual([9, expect.stringContaining("writable by everyone")]);
  });

  it("a live writer's slot is not taken for abandoned however long the key sat idle; a put never replaces a head", async () => {
    const b = makeBus();
    await ok(b, ["kv", "set", "b", "k", "one"]);
    const dir = join(b.home, "kv", "b", "k");
    // The key sat unchanged for an hour, and a live writer has just taken its slot: the rename keeps the
    // old mtime, and the slot must not read as ten minutes old.
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, "head.1"), hourAgo, hourAgo);
    const writer = startNode(["-e", "setTimeout(() => {}, 60000)"]);
    const slot = `.commit-1-${writer.child.pid!}-aa`;
    renameSync(join(dir, "head.1"), join(dir, slot));
    const { removeLitter } = await import("../src/kv/file-litter.ts");
    expect(await removeLitter(dir, [slot], true)).toBe(0);
    expect(readdirSync(dir)).toEqual([slot]);
    writer.child.kill("SIGKILL");
    await writer.done;
    expect((await b.abq(["kv", "get", "b", "k"])).stdout).toBe("one\n"); // gone now: the put never happened
    expect(readdirSync(dir)).toEqual(["head.1"]);
    // A writer that stalled past its slot's ten minutes, and lost it meanwhile, finds head.2 there when it
    // publishes: its put fails, and the head.2 stands.
    writeFileSync(join(dir, "head.2"), JSON.stringify({ value: "two", updated_at: "", updated_by: "x" }));
    const { FileStore } = await import("../src/kv/file-store.ts");
    const store = new FileStore(b.home, join(b.home, "kv", "b"), false);
    expect(await store.put("k", { value: "late", updated_at: "", updated_by: "x" }, 1)).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["head.2"]);
    expect((await b.abq(["kv", "get", "b", "k"])).stdout).toBe("two\n");
  });

  it("a writer killed at each step of a put leaves a state the next reader repairs", async () => {
    const b = makeBus();
    await ok(b, ["kv", "set", "b", "k", "one"]);
    await ok(b, ["kv", "set", "b", "k", "two"]);
    const dead = (await runNode(["-e", "process.stdout.write(String(process.pid))"])).stdout;
    const dir = join(b.home, "kv", "b", "k");
    // Killed after staging its record: the staged file is litter, removed once its pid is gone.
    writeFileSync(join(dir, `.stage-${dead}-aa`), '{"value":"half"}');
    expect((await b.abq(["kv", "get", "b", "k"])).stdout).toBe("two\n");
    expect(readdirSync(dir)).toEqual(["head.2"]);
    // Killed after taking the commit slot (head.2 renamed away) and before publishing head.3: the slot
    // goes back to being the head, as if the put never happened.
    renameSync(join(dir, "head.2"), join(dir, `.commit-2-${dead}-bb`));
    writeFileSync(join(dir, `.stage-${dead}-cc`), '{"value":"three"}');
    expect((await b.abq(["kv", "get", "b", "k", "--json"])).stdout).toContain('"revision":2,"value":"two"');
    expect(readdirSync(dir)).toEqual(["head.2"]);
    await ok(b, ["kv", "set", "b", "k", "three", "--if-revision", "2"]);
    // Killed after publishing head.4 but before removing its slot: the slot is litter.
    renameSync(join(dir, "head.3"), join(dir, `.commit-3-${dead}-dd`));
    writeFileSync(join(dir, "head.4"), JSON.stringify({ value: "four", updated_at: "", updated_by: "x" }));
    expect((await b.abq(["kv", "get", "b", "k"])).stdout).toBe("four\n");
    expect(readdirSync(dir)).toEqual(["head.4"]);
    // The same, seen by a reader whose listing is older than the writer's last rename: it listed the slot
    // alone (the writer alive inside its commit), and the writer then published head.5 and was killed.
    // The slot is litter now; put back as head.4 beside head.5, a put against revision 4 would win too.
    renameSync(join(dir, "head.4"), join(dir, `.commit-4-${dead}-ee`));
    writeFileSync(join(dir, "head.5"), JSON.stringify({ value: "five", updated_at: "", updated_by: "x" }));
    const { FileStore } = await import("../src/kv/file-store.ts");
    const { removeLitter } = await import("../src/kv/file-litter.ts");
    expect(await removeLitter(dir, [`.commit-4-${dead}-ee`], true)).toBe(1);
    expect(readdirSync(dir)).toEqual(["head.5"]);
    const store = new FileStore(b.home, join(b.home, "kv", "b"), false);
    expect(await store.put("k", { value: "stale" }, 4)).toBeUndefined();
    // An older head found beside the newest (left by such a reader before this was mended) is removed.
    writeFileSync(join(dir, "head.3"), JSON.stringify({ value: "three", updated_at: "", updated_by: "x" }));
    expect((await b.abq(["kv", "get", "b", "k"])).stdout).toBe("five\n");
    expect(readdirSync(dir)).toEqual(["head.5"]);
    // Killed while creating a key: its staged folder is removed by the next listing.
    mkdirSync(join(b.home, "kv", "b", `.new-${dead}-ee`));
    await ok(b, ["kv", "ls", "b", "--json"]);
    expect(readdirSync(join(b.home, "kv", "b"))).toEqual(["k"]);
    // A key folder holding only a dead writer's staged file (no head: tampering) reads as no key, and is
    // cleaned so the key can be created; one holding something else is reported.
    mkdirSync(join(b.home, "kv", "b", "odd"));
    writeFileSync(join(b.home, "kv", "b", "odd", `.stage-${dead}-ff`), "{}");
    expect((await b.abq(["kv", "get", "b", "odd"])).code).toBe(3);
    await ok(b, ["kv", "set", "b", "odd", "v", "--if-absent"]);
    mkdirSync(join(b.home, "kv", "b", "planted"));
    writeFileSync(join(b.home, "kv", "b", "planted", "notes.txt"), "hi");
    const planted = await b.abq(["kv", "set", "b", "planted", "v"]);
    expect([planted.code, planted.stderr]).toEqual([6, expect.stringContaining("holds no head.<revision> file")]);
    // A head that is not JSON (edited by hand) is reported, not guessed at.
    writeFileSync(join(dir, "head.5"), "garbage");
    const bad = await b.abq(["kv", "get", "b", "k"]);
    expect([bad.code, bad.stderr]).toEqual([6, expect.stringContaining("is not a JSON object")]);
  });
});
