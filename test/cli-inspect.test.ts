/**
 * Looking at the bus through the built CLI as a child process: status, ls, show, purge and schema, in text
 * and `--json`. Each test has its own bus (ABQ_HOME) in a temp folder. (Split from test/cli.test.ts.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, sendJson, type SentMessage as Msg } from "./helpers.ts";

describe("status, ls, show, purge, schema", () => {
  it("status shows counts per channel and the caller, in text and JSON", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    await bus.abq(["channel", "create", "q"]);
    await sendJson(bus, ["q", "signal", "a"]);
    await sendJson(bus, ["q", "signal", "b"]);
    const claimed = parseJson<Msg>((await bus.abq(["recv", "q", "--json"])).stdout);
    await bus.abq(["respond", "q", claimed.id]);
    await sendJson(bus, ["q", "signal", "c"]);
    await bus.abq(["recv", "q"]);
    const text = await bus.abq(["status"]);
    expect(text.stdout).toContain(`Home: ${bus.home}\nAgent: test/agent\n`);
    // delayed and dead are always shown; counts that are 0 everywhere (expired, rejected, late here) are named below.
    expect(text.stdout).toMatch(/CHANNEL\s+PENDING\s+DELAYED\s+CLAIMED\s+ANSWERED\s+ARCHIVED\s+DEAD\s+OLDEST/);
    expect(text.stdout).toMatch(/\nq\s+1\s+0\s+1\s+1\s+1\s+0\s+\d+s/);
    expect(text.stdout).toContain("(0 everywhere, not shown: expired, rejected, late)");
    const json = parseJson<{ agent: string; channels: Array<Record<string, unknown>> }>(
      (await bus.abq(["status", "--json"])).stdout,
    );
    expect(json.agent).toBe("test/agent");
    expect(json.channels.find((c) => c["name"] === "q")).toMatchObject({
      pending: 1,
      processing: 1,
      responses: 1,
      archived: 1,
      rejected: 0,
      delayed: 0,
      dead: 0,
      expired: 0,
      late: 0,
    });
    expect(json.channels.find((c) => c["name"] === "broadcast")).toMatchObject({
      pending: 0,
      oldest_pending_age_ms: null,
    });
  });

  it("ls lists newest first, -o oldest first, -n limits, -c counts, --json is NDJSON; states have aliases", async () => {
    const bus = makeBus();
    const sent: Msg[] = [];
    for (const c of ["a", "b\nsecond line", "c"]) sent.push(await sendJson(bus, ["q", "signal", c, "--create"]));
    const text = (await bus.abq(["ls", "q"])).stdout.trim().split("\n");
    expect(text.map((l) => l.split(/\s+/)[0])).toEqual([sent[2]!.id, sent[1]!.id, sent[0]!.id]);
    expect(text[1]).toContain("b\\nsecond line"); // newlines escaped, one row per message
    const oldest = (await bus.abq(["ls", "q", "-o", "-n", "2"])).stdout.trim().split("\n");
    expect(oldest.map((l) => l.split(/\s+/)[0])).toEqual([sent[0]!.id, sent[1]!.id]);
    expect((await bus.abq(["ls", "q", "--count"])).stdout).toBe("3\n");
    const ndjson = (await bus.abq(["ls", "q", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<Msg>(l));
    expect(ndjson.map((m) => m.id)).toEqual([sent[2]!.id, sent[1]!.id, sent[0]!.id]);
    await bus.abq(["recv", "q"]);
    expect((await bus.abq(["ls", "q", "claimed", "-c"])).stdout).toBe("1\n");
    expect((await bus.abq(["ls", "q", "processing", "--json"])).stdout).toContain(sent[0]!.id);
    expect((await bus.abq(["ls", "q", "pending", "-c"])).stdout).toBe("2\n");
    const bad = await bus.abq(["ls", "q", "nowhere"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown state/);
  });

  it("show finds a message in any state and channel, with its answer", async () => {
    const bus = makeBus();
    const m = await sendJson(bus, ["q", "command", "do it", "--create"]);
    const pending = await bus.abq(["show", m.id]);
    expect(pending.stdout).toContain(`ID: ${m.id}\nChannel: q\nState: pending\nType: command\n`);
    await bus.abq(["recv", "q"]);
    expect(parseJson((await bus.abq(["show", m.id, "--json"])).stdout)).toMatchObject({ state: "claimed" });
    await bus.abq(["respond", "q", m.id, "-r", "done"]);
    // Answered and retired: done, with its answer still in responses/ (a plain send never reads it).
    const answered = parseJson<{ state: string; request: Msg; response: { result: string }; files: string[] }>(
      (await bus.abq(["show", m.id, "--json", "--channel", "q"])).stdout,
    );
    expect(answered).toMatchObject({
      channel: "q",
      state: "done",
      request: { id: m.id },
      response: { result: "done" },
    });
    expect(answered.files).toHaveLength(2);
    expect(answered.files.some((f) => f.endsWith(`responses/${m.id}.json`))).toBe(true);
    expect((await bus.abq(["show", m.id])).stdout).toContain("Response: success from test/agent");

    // Still done once the sender read the answer (an ask does, when it returns); the answer is archived.
    const asking = bus.abq(["ask", "q", "command", "read me", "--timeout", "20"]);
    const waiting = async (): Promise<string> => (await bus.abq(["ls", "q", "-c"])).stdout;
    while ((await waiting()) !== "1\n") await new Promise((r) => setTimeout(r, 50));
    const asked = parseJson<Msg>((await bus.abq(["recv", "q", "--json"])).stdout);
    await bus.abq(["respond", "q", asked.id, "-r", "read"]);
    expect(await asking).toMatchObject({ code: 0, stdout: "read\n" });
    expect(parseJson((await bus.abq(["show", asked.id, "--json"])).stdout)).toMatchObject({ state: "done" });
    expect((await bus.abq(["show", "req_0123456789ab"])).code).toBe(3);
  });

  it("purge archives every pending message with a reason, never deleting", async () => {
    const bus = makeBus();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendJson(bus, ["q", "signal", String(i), "--create"])).id);
    const r = await bus.abq(["purge", "q", "--yes", "--reason", "stale after deploy", "--json"]);
    expect(r.code).toBe(0);
    expect(parseJson(r.stdout)).toEqual({ channel: "q", purged: ids });
    const archive = join(bus.home, "channels", "q", "archive");
    for (const id of ids) {
      expect(parseJson(readFileSync(join(archive, `${id}_request.json`), "utf8"))).toMatchObject({ id });
      expect(parseJson(readFileSync(join(archive, `${id}_reason.json`), "utf8"))).toMatchObject({
        id,
        reason: "stale after deploy",
        by: "test/agent",
      });
    }
    expect((await bus.abq(["purge", "q", "-y"])).stdout).toBe("Purged 0 message(s) from q into its archive\n");
    expect((await bus.abq(["status", "--json"])).stdout).toContain('"archived":3');
  });

  it("schema prints JSON Schemas generated from the zod schemas", async () => {
    const bus = makeBus();
    const req = parseJson<{ properties: Record<string, unknown>; required: string[] }>(
      (await bus.abq(["schema"])).stdout,
    );
    expect(Object.keys(req.properties).sort()).toEqual(
      [
        "attachments",
        "attempts",
        "content",
        "from",
        "id",
        "in_reply_to",
        "reply_to",
        "signature",
        "thread",
        "timestamp",
        "to",
        "ttl",
        "type",
        "version",
      ].sort(),
    );
    expect(req.required).not.toContain("reply_to");
    const res = parseJson<{ properties: Record<string, unknown> }>((await bus.abq(["schema", "response"])).stdout);
    expect(Object.keys(res.properties).sort()).toEqual([
      "attachments",
      "error",
      "from",
      "id",
      "result",
      "status",
      "timestamp",
      "version",
    ]);
    expect((await bus.abq(["schema", "bogus"])).code).toBe(2);
  });
});
