/**
 * Crash points of the lifecycle (src/protocol/index.ts), proven with real SIGKILLs: ABQ_CRASH_AT makes the
 * CLI kill itself at a named step, and each test asserts what is left and that it recovers correctly.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LIB, makeBus, parseJson, runNode, sendJson, startNode, until, type Bus } from "./helpers.ts";

const ls = (bus: Bus, ch: string, dir: string): string[] => readdirSync(join(bus.home, "channels", ch, dir)).sort();

async function claimedMessage(bus: Bus, ch: string): Promise<string> {
  expect((await bus.abq(["send", ch, "command", "work", "--create"])).code).toBe(0);
  const r = await bus.abq(["recv", ch, "--json"]);
  expect(r.code).toBe(0);
  return parseJson<{ id: string }>(r.stdout).id;
}

describe("crash points", () => {
  it("a send killed before its rename leaves nothing in requests/", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const r = await bus.abq(["send", "c", "signal", "half"], { env: { ABQ_CRASH_AT: "send:staged" } });
    expect(r.signal).toBe("SIGKILL");
    expect(ls(bus, "c", "requests")).toEqual([]);
    expect(ls(bus, "c", "tmp")).toHaveLength(1); // the staging file, which no consumer ever reads
    expect((await bus.abq(["recv", "c"])).code).toBe(4);
    expect((await bus.abq(["status", "--json"])).stdout).toContain('"pending":0');
  });

  it("a claim killed after its rename leaves the message whole in processing/", async () => {
    const bus = makeBus();
    await bus.abq(["send", "c", "signal", "x", "--create"]);
    const r = await bus.abq(["recv", "c"], { env: { ABQ_CRASH_AT: "claim:renamed" } });
    expect(r.signal).toBe("SIGKILL");
    const [file] = ls(bus, "c", "processing");
    expect(file).toMatch(/^req_[0-9a-f]+\.json$/);
    expect(parseJson(readFileSync(join(bus.home, "channels", "c", "processing", file!), "utf8"))).toMatchObject({
      content: "x",
    });
  });

  it("a watcher killed between its claim and its lease: the next sweep takes the message back at once", async () => {
    // Default lease (300 s) and TTL: before staged leases, the sweep waited out the whole lease.
    const bus = makeBus();
    await bus.abq(["channel", "create", "c", "--backoff", "0"]);
    const { id } = await sendJson(bus, ["c", "command", "work"]);
    const handler = join(import.meta.dirname, "..", "handlers", "echo.sh");
    const killed = await bus.abq(["watch", "c", "--handler", handler], { env: { ABQ_CRASH_AT: "claim:renamed" } });
    expect(killed.signal).toBe("SIGKILL");
    expect(ls(bus, "c", "processing")).toEqual([`${id}.json`]);
    const staged = ls(bus, "c", "leases");
    expect(staged).toEqual([expect.stringMatching(new RegExp(`^\\.claiming-${id}-\\d+-`))]);

    const swept = await bus.abq(["sweep", "--json"]);
    expect(swept.code, swept.stderr).toBe(0);
    expect(swept.stdout).toContain("its claimer died before writing its lease");
    expect(ls(bus, "c", "requests")).toEqual([`${id}.json`]);
    expect(ls(bus, "c", "leases")).toEqual([]); // the staged lease went with the takeover

    const answered = await bus.abq(["recv", "c", "--json"]);
    expect(parseJson<{ id: string }>(answered.stdout).id).toBe(id);
    expect(existsSync(join(bus.home, "channels", "c", "expired"))).toBe(false);
  });

  it("a seed-style claim (no lease, none staged) is not taken back early by a leftover staged lease", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const { id } = await sendJson(bus, ["c", "command", "work"]);
    const dir = join(bus.home, "channels", "c");
    // A staged lease of a dead claimer from two minutes ago: it cannot speak for a claim made now.
    const old = new Date(Date.now() - 120_000);
    const lease = { id, token: "t", owner: { agent: "gone", pid: 2 ** 22 + 7, host: hostname() } };
    mkdirSync(join(dir, "leases"), { recursive: true });
    const leftover = join(dir, "leases", `.claiming-${id}-${2 ** 22 + 7}-abc`);
    writeFileSync(leftover, JSON.stringify({ ...lease, claimed_at: old.toISOString(), deadline: old.toISOString() }));
    renameSync(join(dir, "requests", `${id}.json`), join(dir, "processing", `${id}.json`)); // the seed's recv
    expect((await bus.abq(["sweep"])).code).toBe(0);
    expect(ls(bus, "c", "processing")).toEqual([`${id}.json`]);
    // The leftover spoke for nothing and its owner is gone: the sweep removed it.
    expect(existsSync(leftover)).toBe(false);
  });

  it("a respond killed between answering and archiving: a second respond finishes, the first answer stands", async () => {
    const bus = makeBus();
    const id = await claimedMessage(bus, "c");
    const killed = await bus.abq(["respond", "c", id, "--result", "first"], {
      env: { ABQ_CRASH_AT: "respond:answered" },
    });
    expect(killed.signal).toBe("SIGKILL");
    expect(ls(bus, "c", "responses")).toEqual([`${id}.json`]);
    expect(ls(bus, "c", "processing")).toEqual([`${id}.json`]);

    const again = await bus.abq(["respond", "c", id, "--result", "second"]);
    expect(again.code).toBe(7);
    expect(again.stderr).toMatch(/already answered/);
    expect(ls(bus, "c", "processing")).toEqual([]);
    expect(ls(bus, "c", "archive")).toEqual([`${id}_request.json`]);
    const answer = parseJson<{ result: string }>(
      readFileSync(join(bus.home, "channels", "c", "responses", `${id}.json`), "utf8"),
    );
    expect(answer.result).toBe("first");
  });

  it("an answered request that is put back in the queue is archived, not handed out again", async () => {
    const bus = makeBus();
    const id = await claimedMessage(bus, "c");
    await bus.abq(["respond", "c", id, "--result", "done"], { env: { ABQ_CRASH_AT: "respond:answered" } });
    // What a blind requeue (the seed's) would do with the leftover: move it back to requests/.
    const dir = join(bus.home, "channels", "c");
    renameSync(join(dir, "processing", `${id}.json`), join(dir, "requests", `${id}.json`));

    expect((await bus.abq(["recv", "c"])).code).toBe(4);
    expect(ls(bus, "c", "archive")).toEqual([`${id}_request.json`]);
    const shown = await bus.abq(["show", id, "--json"]);
    expect(parseJson<{ state: string; response: { result: string } }>(shown.stdout)).toMatchObject({
      state: "done",
      response: { result: "done" },
    });
  });

  it("fabricated leftover (answer file written by hand, request still claimed) is recognised as answered", async () => {
    const bus = makeBus();
    const id = await claimedMessage(bus, "c");
    const answer = {
      id,
      version: "1.0.0",
      status: "success",
      from: { agent: "other", pid: 1 },
      result: "by hand",
      error: null,
      timestamp: "2026-11-21T05:00:00.000000+00:00",
    };
    writeFileSync(join(bus.home, "channels", "c", "responses", `${id}.json`), JSON.stringify(answer));
    const r = await bus.abq(["respond", "c", id, "--result", "late"]);
    expect(r.code).toBe(7);
    expect(ls(bus, "c", "processing")).toEqual([]);
    expect(ls(bus, "c", "archive")).toEqual([`${id}_request.json`]);
  });

  it("a consumer SIGKILLed mid-stream loses nothing: every message is pending, claimed or archived", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const sent = await runNode(
      [join(import.meta.dirname, "fixtures", "send-many.mjs"), LIB, bus.home, "c", "300", "100", join(bus.root, "m")],
      {
        env: bus.env,
      },
    );
    expect(sent.code).toBe(0);
    const consumer = startNode(
      [join(import.meta.dirname, "fixtures", "claim-loop.mjs"), LIB, bus.home, "c", "100", "-"],
      {
        env: bus.env,
      },
    );
    // Kill it for real in the middle of its work, once it has answered a few dozen messages.
    await until(() => ls(bus, "c", "archive").length >= 30);
    consumer.child.kill("SIGKILL");
    const result = await consumer.done;
    expect(result.signal).toBe("SIGKILL");
    const pending = ls(bus, "c", "requests");
    const claimed = ls(bus, "c", "processing");
    const archived = ls(bus, "c", "archive").filter((n) => n.endsWith("_request.json"));
    expect(pending.length + claimed.length + archived.length).toBe(300);
    expect(archived.length).toBeGreaterThanOrEqual(30);
    expect(pending.length).toBeGreaterThan(0);
    expect(claimed.length).toBeLessThanOrEqual(1);
  });
});
