/**
 * Sender rules at the edges: topic subscribers' copies, channel.json from earlier versions, oversized
 * and malformed sender lists, forged signature objects, and things planted in the keys folder.
 */
import { readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bus, CLI, makeBus, parseJson, startNode } from "./helpers.ts";

function reason(bus: Bus, ch: string, file: string): string {
  return parseJson<{ reason: string }>(readFileSync(join(bus.home, "channels", ch, file), "utf8")).reason;
}

async function sendJson(bus: Bus, args: string[], agent = "HumanOverseer"): Promise<Record<string, unknown>> {
  const r = await bus.abq(["send", ...args, "--json"], { env: { ABQ_AGENT: agent } });
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r.stdout);
}

describe("sender rules at the edges", () => {
  it("a topic's allowlist applies to every subscriber's copy", async () => {
    const bus = makeBus();
    await bus.abq(["keygen"], { env: { ABQ_AGENT: "HumanOverseer" } });
    await bus.abq(["channel", "create", "news", "--topic", "--allow-sender", "HumanOverseer"]);
    await bus.abq(["subscribe", "news", "alice"]);
    const signed = await sendJson(bus, ["news", "signal", "signed", "--sign"]);
    const unsigned = await sendJson(bus, ["news", "signal", "unsigned"]);
    const got = await bus.abq(["recv", "news", "--as", "alice", "--json"]);
    expect(parseJson<{ id: string }>(got.stdout).id).toBe(signed["id"]);
    expect((await bus.abq(["recv", "news", "--as", "alice"])).code).toBe(4);
    const copy = join("subscribers", "alice", "rejected", `${unsigned["id"] as string}.json.reason.json`);
    expect(reason(bus, "news", copy)).toMatch(/^unsigned/);
  });

  it("an ask whose request is rejected stops waiting and says so, instead of timing out", async () => {
    const bus = makeBus();
    await bus.abq(["keygen"], { env: { ABQ_AGENT: "HumanOverseer" } });
    await bus.abq(["channel", "create", "ops", "--allow-sender", "HumanOverseer"]);
    const watcher = startNode([CLI, "watch", "ops", "--handler", "true"], { env: bus.env, timeoutMs: 60_000 });
    try {
      const r = await bus.abq(["ask", "ops", "command", "let me in", "--timeout", "30"], {
        env: { ABQ_AGENT: "evil/agent" },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^abq: message req_[0-9a-f]+ was rejected/);
    } finally {
      watcher.child.kill("SIGTERM");
      await watcher.done;
    }
  });

  it("channel.json from an earlier version keeps working; sender lists add only what was set", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "old"]);
    const file = join(bus.home, "channels", "old", "channel.json");
    const before = parseJson<Record<string, unknown>>(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...before, policy: { ttl_s: 300 } }));
    await bus.abq(["channel", "config", "old", "--deny-sender", "bot/main"]);
    expect(parseJson<{ policy: unknown }>(readFileSync(file, "utf8")).policy).toEqual({
      ttl_s: 300,
      deny_senders: ["bot/main"],
    });
    const shown = parseJson<Record<string, unknown>>((await bus.abq(["channel", "config", "old", "--json"])).stdout);
    expect(shown).toMatchObject({ ttl_s: 300, allow_senders: [], deny_senders: ["bot/main"], require_signed: false });
  });

  it("refuses oversized and malformed sender lists with one line, changing nothing", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const many = Array.from({ length: 257 }, (_, i) => `agent${i}`);
    const cases: Array<[string[], RegExp]> = [
      [["--deny-sender", ...many], /^abq: invalid policy: a sender list has at most 256 entries$/],
      [["--allow-sender", ""], /^abq: an agent identity is 1-512 characters/],
      [["--deny-sender", "a\u001bb"], /^abq: an agent identity is 1-512 characters without control characters/],
      [["--allow-sender", "x".repeat(513)], /^abq: an agent identity is 1-512 characters/],
    ];
    for (const [flags, message] of cases) {
      const r = await bus.abq(["channel", "config", "c", ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")[0]).toMatch(message);
    }
    expect(existsPolicy(bus, "c")).toBe(false);
  });

  it("forged signature objects are rejected as such, never followed as paths", async () => {
    const bus = makeBus();
    await bus.abq(["keygen"], { env: { ABQ_AGENT: "HumanOverseer" } });
    await bus.abq(["channel", "create", "c"]);
    const forged: Array<[Record<string, unknown>, RegExp]> = [
      [{ alg: "ed25519", key: "../../../etc/passwd", sig: "AAAA" }, /^malformed signature$/],
      [{ alg: "rsa", key: "0123456789abcdef", sig: "AAAA" }, /^not a protocol 1\.0\.0 message: signature\.alg/],
      [
        { alg: "ed25519", key: "0123456789abcdef", sig: "A".repeat(100_000) },
        /^signed by unknown key 0123456789abcdef/,
      ],
    ];
    for (const [signature, message] of forged) {
      const m = await sendJson(bus, ["c", "signal", "x", "--sign"]);
      const path = join(bus.home, "channels", "c", "requests", `${m["id"] as string}.json`);
      writeFileSync(path, JSON.stringify({ ...m, signature }));
      expect((await bus.abq(["recv", "c"])).code).toBe(4);
      expect(reason(bus, "c", join("rejected", `${m["id"] as string}.json.reason.json`))).toMatch(message);
    }
  });

  it("a symbolic link planted as a public key stops the claim with one line; the message stays pending", async () => {
    const bus = makeBus();
    const key = parseJson<{ keyid: string }>(
      (await bus.abq(["keygen", "--json"], { env: { ABQ_AGENT: "HumanOverseer" } })).stdout,
    );
    await bus.abq(["channel", "create", "c"]);
    await sendJson(bus, ["c", "signal", "x", "--sign"]);
    const pub = join(bus.home, "keys", `${key.keyid}.pub`);
    const real = readFileSync(pub, "utf8");
    const elsewhere = join(bus.root, "planted.pub");
    writeFileSync(elsewhere, real);
    rmSync(pub);
    symlinkSync(elsewhere, pub);
    const r = await bus.abq(["recv", "c"]);
    expect(r.code).toBe(9);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/\.pub is a symbolic link; abq does not follow links in the keys folder/);
    expect((await bus.abq(["ls", "c", "requests", "--json"])).stdout.trim().split("\n")).toHaveLength(1);
    rmSync(pub);
    writeFileSync(pub, real);
    expect((await bus.abq(["recv", "c"])).code).toBe(0);
  });

  it("the signature covers thread and attachments when present: signed with both passes, adding either is tampering", async () => {
    const bus = makeBus();
    await bus.abq(["keygen"], { env: { ABQ_AGENT: "HumanOverseer" } });
    await bus.abq(["channel", "create", "c", "--require-signed"]);
    // Signed with both present: delivered as is.
    const first = (await sendJson(bus, ["c", "signal", "first", "--sign"]))["id"] as string;
    const file = join(bus.root, "build.log");
    writeFileSync(file, "ok\n");
    const both = await sendJson(bus, ["c", "signal", "with both", "--sign", "--thread", first, "--attach", file]);
    expect(both).toMatchObject({ thread: first, attachments: [{ name: "build.log" }] });
    await bus.abq(["recv", "c"]);
    expect(parseJson<{ id: string }>((await bus.abq(["recv", "c", "--json"])).stdout).id).toBe(both["id"]);
    const ids: string[] = [];
    for (const edit of ["thread", "attachments"]) {
      const id = (await sendJson(bus, ["c", "signal", "pay 10", "--sign"]))["id"] as string;
      const file = join(bus.home, "channels", "c", "requests", `${id}.json`);
      const m = parseJson<Record<string, unknown>>(readFileSync(file, "utf8"));
      if (edit === "thread") m["thread"] = "req_0123456789abcdef0123456789abcdef";
      else m["attachments"] = [{ name: "x.sh", sha256: "0".repeat(64), size: 1, media_type: "text/plain" }];
      writeFileSync(file, JSON.stringify(m));
      ids.push(id);
    }
    expect((await bus.abq(["recv", "c"])).code).toBe(4);
    for (const id of ids)
      expect(reason(bus, "c", join("rejected", `${id}.json.reason.json`))).toMatch(
        /^bad signature \(key [0-9a-f]{16}\): the message was altered/,
      );
  });
});

function existsPolicy(bus: Bus, ch: string): boolean {
  const raw = parseJson<{ policy?: Record<string, unknown> }>(
    readFileSync(join(bus.home, "channels", ch, "channel.json"), "utf8"),
  );
  return raw.policy !== undefined && Object.keys(raw.policy).length > 0;
}
