/**
 * Presence of MCP sessions, through the MCP SDK's real Client over stdio against the built CLI: each
 * session keeps a heartbeat on its inbox, seen by `abq agents`, `check --alive` and abq_status, gone on a
 * clean exit and dead at once after a SIGKILL; two agents from two real git repositories see each other
 * and ask and answer by name; and the library's startPresence on its own.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startPresence } from "../src/index.ts";
import { type Bus, makeBus, makeRepo, parseJson, tempDir, until } from "./helpers.ts";
import { API, API_INBOX, APP } from "./fixtures/agents/agents.ts";
import { connect, GIT_NAMED, type Progress } from "./fixtures/agents/mcp-client.ts";

function repo(bus: Bus, name: string): string {
  const dir = join(bus.root, name);
  mkdirSync(dir);
  return makeRepo(dir, { remote: `git@github.com:acme/${name}.git` });
}

function mcpHeartbeats(bus: Bus): string[] {
  const dir = join(bus.home, "agents");
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("mcp.")) : [];
}

describe("presence and two agents", () => {
  it("two sessions in two git repos see each other, ask and answer by name, and leave cleanly", async () => {
    const bus = makeBus(GIT_NAMED);
    const app = await connect(bus, { cwd: repo(bus, "app") });
    const api = await connect(bus, { cwd: repo(bus, "api") });
    expect(mcpHeartbeats(bus)).toHaveLength(2);

    const agents = (await bus.abq(["agents", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => parseJson(l));
    expect(agents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: APP, agent: APP, channel: "inbox.github.com.acme.app.main", live: true }),
        expect.objectContaining({ name: API, agent: API, channel: API_INBOX, live: true, kind: "mcp" }),
      ]),
    );
    expect((await bus.abq(["check", "--channel", API_INBOX, "--alive"])).code).toBe(0);
    const status = await app.call("abq_status");
    expect(status.json).toMatchObject({ agent: APP, inbox: "inbox.github.com.acme.app.main" });
    expect(status.json["agents"]).toEqual(
      expect.arrayContaining([
        { agent: API, inbox: API_INBOX, live: true, last_seen: expect.any(String) as string },
        { agent: APP, inbox: "inbox.github.com.acme.app.main", live: true, last_seen: expect.any(String) as string },
      ]),
    );

    // app asks api by a suffix of its name; api serves its own inbox; progress reaches app.
    const progress: Progress[] = [];
    const asking = app.call(
      "abq_ask",
      { channel: "api/main", type: "command", content: "add /health", timeout: 30 },
      {
        progress,
      },
    );
    const got = await api.call("abq_recv", { channel: "@self", wait: true, timeout: 30 });
    expect(got.json).toMatchObject({ claimed: true, channel: API_INBOX, message: { content: "add /health" } });
    const id = (got.json["message"] as { id: string }).id;
    await api.call("abq_respond", { channel: "@self", id, status: "pending", result: "half way" });
    await api.call("abq_respond", { channel: "@self", id, result: "done" });
    const asked = await asking;
    expect(asked.json).toMatchObject({ answered: true, id, channel: API_INBOX, response: { result: "done" } });
    expect(progress[0]?.message).toBe(`sent ${id} to ${API_INBOX}; waiting up to 30s for its answer`);
    expect(progress.map((p) => p.message)).toContain("half way");

    // A clean exit takes the heartbeat with it.
    await api.client.close();
    await until(() => mcpHeartbeats(bus).length === 1);
    expect((await bus.abq(["check", "--channel", API_INBOX, "--alive"])).code).toBe(1);
    expect((await app.call("abq_status")).json["agents"] as unknown[]).toContainEqual({
      inbox: API_INBOX,
      live: false,
    });
  });

  it("a SIGKILLed session stops counting at once, though its file stays", async () => {
    const bus = makeBus({ ABQ_AGENT: API });
    const session = await connect(bus);
    const pid = session.pid();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    await until(() => {
      try {
        process.kill(pid!, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(mcpHeartbeats(bus)).toEqual([expect.stringMatching(new RegExp(`^mcp\\..*\\.${pid}\\.json$`))]);
    expect((await bus.abq(["check", "--channel", API_INBOX, "--alive"])).code).toBe(1);
  });

  it("startPresence refreshes within the TTL, reports write failures, and removes its heartbeat", async () => {
    const bus = makeBus();
    const presence = startPresence({ home: bus.home, agent: API, ttl: 0.3 });
    await presence.ready;
    const first = presence.current?.at;
    expect(presence.current).toMatchObject({
      name: API,
      channel: API_INBOX,
      kind: "mcp",
      watch: true,
      pid: process.pid,
    });
    await until(() => presence.current !== undefined && presence.current.at !== first, 2000);
    await presence.stop();
    await presence.stop();
    expect(mcpHeartbeats(bus)).toEqual([]);

    const notADir = join(tempDir(), "file");
    writeFileSync(notADir, "");
    const errors: unknown[] = [];
    const broken = startPresence({ home: notADir, agent: API, onError: (e) => errors.push(e) });
    await broken.ready;
    expect(broken.current).toBeUndefined();
    expect(errors.length).toBeGreaterThan(0);
    await broken.stop();
  });
});

describe("abq agents --inboxes", () => {
  it("one row per agent: its inbox, the mail waiting there, and whether it is live", async () => {
    const bus = makeBus();
    expect((await bus.abq(["init"])).code).toBe(0);
    // The api agent announces itself; the app agent writes to it by name, and to an agent not yet seen.
    const beat = await bus.abq(["heartbeat", "api-session"], { env: { ABQ_AGENT: API } });
    expect(beat.code, beat.stderr).toBe(0);
    for (const to of ["api/main", "github.com/acme/web/main"]) {
      const sent = await bus.abq(["send", to, "signal", "hello"], { env: { ABQ_AGENT: APP } });
      expect(sent.code, sent.stderr).toBe(0);
    }
    const r = await bus.abq(["agents", "--inboxes", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<{ agent?: string; inbox: string; pending: number; live: boolean }>(l));
    expect(rows).toContainEqual(expect.objectContaining({ agent: API, inbox: API_INBOX, pending: 1, live: true }));
    expect(rows).toContainEqual(
      expect.objectContaining({ inbox: "inbox.github.com.acme.web.main", pending: 1, live: false }),
    );
    const text = await bus.abq(["agents", "--inboxes"]);
    expect(text.stdout).toMatch(
      new RegExp(`^live +${API.replace(/\./g, "\\.")} +${API_INBOX.replace(/\./g, "\\.")} +1 `, "m"),
    );
  });
});
