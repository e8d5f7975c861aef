/**
 * Every state shows up where states are reported: status and channel info count each one, recv and
 * watch say what they set aside on the way (nothing is archived silently), sweep says where expired
 * messages went, ls and show give the reason of a state, and message text reaches a terminal escaped.
 */
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, type Bus } from "./helpers.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function send(bus: Bus, args: string[]): Promise<string> {
  const r = await bus.abq(["send", "q", ...args, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

/** Claims the next message of q and finishes it with `verb` (ack, term, release). */
async function claimAnd(bus: Bus, verb: string[]): Promise<string> {
  const { id } = parseJson<{ id: string }>((await bus.abq(["recv", "q", "--json"])).stdout);
  const r = await bus.abq([verb[0]!, "q", id, ...verb.slice(1)]);
  expect(r.code, r.stderr).toBe(0);
  return id;
}

describe("states in status, channel info, ls and show", () => {
  it("status and channel info count delayed, dead and expired messages, in text and JSON", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    await send(bus, ["command", "to delay"]);
    await claimAnd(bus, ["release", "--delay", "10m"]);
    await send(bus, ["command", "to kill"]);
    await claimAnd(bus, ["term", "--reason", "no"]);
    const expiredId = await send(bus, ["command", "short-lived", "--ttl", "1"]);
    await sleep(1100);
    expect((await bus.abq(["sweep", "q"])).stdout).toMatch(/^q\s+.*expired 1 \(to expired\/\)/);

    const json = parseJson<{ channels: Record<string, unknown>[] }>((await bus.abq(["status", "--json"])).stdout);
    expect(json.channels.find((c) => c["name"] === "q")).toEqual({
      name: "q",
      pending: 0,
      delayed: 1,
      processing: 0,
      responses: 0,
      archived: 0,
      dead: 1,
      expired: 1,
      rejected: 0,
      late: 0,
      oldest_pending_age_ms: null,
    });
    const text = (await bus.abq(["status"])).stdout;
    expect(text).toMatch(/CHANNEL\s+PENDING\s+DELAYED\s+CLAIMED\s+ANSWERED\s+ARCHIVED\s+DEAD\s+EXPIRED\s+OLDEST/);
    expect(text).toMatch(/\nq\s+0\s+1\s+0\s+0\s+0\s+1\s+1\s+-/);
    expect(text).toContain("(0 everywhere, not shown: rejected, late)");

    const info = (await bus.abq(["channel", "info", "q"])).stdout;
    for (const [label, n] of [
      ["Pending", 0],
      ["Delayed", 1],
      ["Claimed", 0],
      ["Dead", 1],
      ["Expired", 1],
      ["Late", 0],
    ])
      expect(info).toMatch(new RegExp(`\\n${label}:\\s+${n}\\n`));
    const infoJson = parseJson<{ status: Record<string, number> }>(
      (await bus.abq(["channel", "info", "q", "--json"])).stdout,
    );
    expect(infoJson.status).toMatchObject({ delayed: 1, dead: 1, expired: 1, rejected: 0, late: 0 });

    // Expired messages live in expired/, with their TTL and send time as the reason.
    expect((await bus.abq(["ls", "q", "expired"])).stdout).toMatch(
      new RegExp(`^${expiredId}\\s+command.*ttl 1s, sent 20`),
    );
    expect((await bus.abq(["ls", "q", "archive", "-c"])).stdout).toBe("0\n");
    const shown = (await bus.abq(["show", expiredId])).stdout;
    expect(shown).toMatch(/State: expired\nReason: expired\nTTL: 1s\nSent: 20.*\nExpired at: 20.*\nBy: /);
  });

  it("ls takes every state word and lists them in its help", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const help = (await bus.abq(["ls", "--help"])).stdout.replace(/\s+/g, " ");
    for (const word of [
      "requests (pending)",
      "delayed",
      "processing (claimed)",
      "archive (done)",
      "expired",
      "dead",
      "rejected",
      "late",
    ])
      expect(help).toContain(word);
    for (const word of ["pending", "delayed", "claimed", "answered", "done", "expired", "dead", "rejected", "late"]) {
      const r = await bus.abq(["ls", "q", word, "-c"]);
      expect(r, word).toMatchObject({ code: 0, stdout: "0\n" });
    }
    expect((await bus.abq(["ls", "q", "gone"])).stderr).toMatch(
      /unknown state 'gone': use requests \(pending\), delayed/,
    );
  });

  it("show escapes control characters in message text; newlines stay", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const id = await send(bus, ["command", "line one\n\u001b[2Jwiped\u0007"]);
    const out = (await bus.abq(["show", id])).stdout;
    expect(out).toContain("Content: line one\n\\u001b[2Jwiped\\u0007\n");
    expect(out).not.toContain("\u001b");
    expect((await bus.abq(["recv", "q"])).stdout).toContain("Content: line one\n\\u001b[2Jwiped\\u0007\n");
  });
});

describe("nothing is set aside silently", () => {
  it("recv reports what it expired on the way on stderr: one line, or one JSON line with --json", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const old = [await send(bus, ["signal", "a", "--ttl", "1"]), await send(bus, ["signal", "b", "--ttl", "1"])];
    const fresh = await send(bus, ["signal", "c"]);
    await sleep(1100);
    const r = await bus.abq(["recv", "q", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseJson<{ id: string }>(r.stdout).id).toBe(fresh); // stdout: the message alone, as stored
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(parseJson(r.stderr)).toEqual({
      skipped: { channel: "q", expired: 2, rejected: 0, expired_ids: old, rejected_files: [] },
    });

    await send(bus, ["signal", "d", "--ttl", "1"]);
    await sleep(1100);
    const text = await bus.abq(["recv", "q"]);
    expect(text.code).toBe(4); // nothing left to claim, and still told what went
    expect(text.stderr).toBe("abq: expired 1 message(s) (TTL ran out; see: abq ls q expired)\n");
    expect((await bus.abq(["ls", "q", "expired", "-c"])).stdout).toBe("3\n");
  });

  it("watch logs the skipped messages and counts them in its closing line", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    await send(bus, ["signal", "old", "--ttl", "1"]);
    await sleep(1100);
    await send(bus, ["signal", "new"]);
    const r = await bus.abq(["watch", "q", "--handler", "cat >/dev/null", "--once"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ expired 1 message\(s\) \(TTL ran out; see: abq ls q expired\)\n/);
    expect(r.stderr).toMatch(/ stopped after 1 message\(s\); expired 1 message\(s\)/);
  });
});
