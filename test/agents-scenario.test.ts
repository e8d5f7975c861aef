/**
 * Issue 13's two-agent scenario, whole, on the file spool and over JetStream: two `abq mcp` servers
 * driven by the MCP SDK's real Client, each started in its own real git repository (which names the
 * agent), do everything agents' mail is for, in one conversation:
 * presence, send by name, ack, ask and wait with progress, a progress note, the answer, reply_to @self,
 * the hook outputs that announce the reply, the thread view, search, release and a clean goodbye.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, makeBus, makeRepo, parseJson, until } from "./helpers.ts";
import { API, APP, HOOK_INPUT } from "./fixtures/agents/agents.ts";
import { connect, GIT_NAMED, type Progress, type Session } from "./fixtures/agents/mcp-client.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";

const NATS = natsAvailable();
let server: NatsServer | undefined;
beforeAll(async () => {
  if (NATS) server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const TRANSPORTS: Array<[string, () => Bus]> = [
  ["the file spool", () => makeBus(GIT_NAMED)],
  ...(NATS ? [["JetStream", () => natsBusFactory(() => server!)(GIT_NAMED)] as [string, () => Bus]] : []),
];

function repo(bus: Bus, name: string): string {
  const dir = join(bus.root, name);
  mkdirSync(dir);
  return makeRepo(dir, { remote: `git@github.com:acme/${name}.git` });
}

/** A tool call that must succeed; its JSON result. */
async function ok(session: Session, tool: string, args: Record<string, unknown> = {}, progress?: Progress[]) {
  const r = await session.call(tool, args, progress !== undefined ? { progress } : {});
  expect(r.isError, `${tool}: ${r.text}`).toBeFalsy();
  return r.json;
}

/** The agents `abq agents --json` lists as live. */
async function liveAgents(bus: Bus): Promise<string[]> {
  const r = await bus.abq(["agents", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const rows = r.stdout.trim() === "" ? [] : r.stdout.trim().split("\n");
  return rows
    .map((l) => parseJson<{ agent?: string; live: boolean }>(l))
    .filter((a) => a.live)
    .map((a) => a.agent ?? "");
}

/** `abq check --inbox @self --format claude-code --event E` as a hook runs it: in the repo, input on stdin. */
async function hook(bus: Bus, cwd: string, event: "UserPromptSubmit" | "Stop", extra: object = {}) {
  const input = JSON.stringify({ ...HOOK_INPUT[event], cwd, ...extra });
  const r = await bus.abq(["check", "--inbox", "@self", "--format", "claude-code", "--event", event], { cwd, input });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim() === "" ? undefined : parseJson<Record<string, unknown>>(r.stdout);
}

describe.each(TRANSPORTS)("two agents over MCP on %s", (_name, makeTheBus) => {
  it("presence, send by name, ack, ask with progress, reply_to @self, hooks, thread, search, release", async () => {
    const bus = makeTheBus();
    const appDir = repo(bus, "app");
    const apiDir = repo(bus, "api");
    const app = await connect(bus, { cwd: appDir });
    const api = await connect(bus, { cwd: apiDir });

    // Presence: both sessions are live for the CLI and for each other.
    await until(async () => (await liveAgents(bus)).filter((a) => a === APP || a === API).length === 2);
    expect(((await ok(app, "abq_status"))["agents"] as Array<{ agent?: string }>).map((a) => a.agent)).toEqual(
      expect.arrayContaining([APP, API]),
    );

    // Send by name (a unique suffix); api reads it and acknowledges it without an answer.
    const fyi = await ok(app, "abq_send", { channel: "api/main", type: "signal", content: "FYI: deploy at 5" });
    const fyiRecv = await ok(api, "abq_recv", { channel: "@self" });
    expect(fyiRecv).toMatchObject({ claimed: true, message: { id: fyi["id"], content: "FYI: deploy at 5" } });
    await ok(api, "abq_ack", { channel: "@self", id: fyi["id"] });

    // Ask by name and wait: the first progress note names the request; api's note arrives as progress.
    const progress: Progress[] = [];
    const asking = app.call(
      "abq_ask",
      { channel: API, type: "command", content: "add /health", reply_to: "@self", timeout: 60 },
      { progress },
    );
    const got = await ok(api, "abq_recv", { channel: "@self", wait: true, timeout: 30 });
    const id = (got["message"] as { id: string; thread?: string }).id;
    expect(got["message"]).toMatchObject({ content: "add /health", from: { agent: APP } });
    await ok(api, "abq_respond", { channel: "@self", id, status: "pending", result: "half way" });
    await until(() => progress.some((p) => p.message === "half way"));
    await ok(api, "abq_respond", { channel: "@self", id, result: "added GET /health" });
    const asked = (await asking).json;
    expect(asked).toMatchObject({ answered: true, id, response: { result: "added GET /health" } });
    expect(progress[0]?.message).toMatch(new RegExp(`^sent ${id} to `));

    // reply_to @self: the answer also lands in app's inbox, and app's hooks announce it.
    const prompt = await hook(bus, appDir, "UserPromptSubmit");
    const context = (prompt?.["hookSpecificOutput"] as { additionalContext: string }).additionalContext;
    expect(context).toContain(`(reply to ${id})`);
    expect(context).toContain("success: added GET /health");
    expect(await hook(bus, appDir, "Stop")).toMatchObject({ decision: "block" });
    expect(await hook(bus, appDir, "Stop", { stop_hook_active: true })).toBeUndefined();
    expect(await hook(bus, apiDir, "UserPromptSubmit")).toBeUndefined(); // api's inbox is empty

    // app reads the reply: it carries the thread; the thread view and search find the conversation.
    const reply = await ok(app, "abq_recv", { channel: "@self" });
    expect(reply["message"]).toMatchObject({ thread: id, from: { agent: API } });
    await ok(app, "abq_ack", { channel: "@self", id: (reply["message"] as { id: string }).id });
    const thread = await ok(app, "abq_search", { thread: id });
    const inThread = (thread["matches"] as Array<{ request: { id: string } }>).map((m) => m.request.id);
    expect(inThread).toEqual(expect.arrayContaining([id, (reply["message"] as { id: string }).id]));
    const cli = await bus.abq(["thread", id, "--json"], { cwd: appDir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain("added GET /health");
    const fromApp = await ok(api, "abq_search", { from: "app/main" });
    expect((fromApp["matches"] as Array<{ request: { content: string } }>).map((m) => m.request.content)).toEqual(
      expect.arrayContaining(["FYI: deploy at 5", "add /health"]),
    );

    // Release: api gives a claim back, and it is pending again for the next reader.
    const task = await ok(app, "abq_send", { channel: "api/main", type: "command", content: "rotate keys" });
    const claim = await ok(api, "abq_recv", { channel: "@self" });
    expect(claim["message"]).toMatchObject({ id: task["id"] });
    const lease = (claim["lease"] as { token: string }).token;
    await ok(api, "abq_release", { channel: "@self", id: task["id"], lease });
    const again = await ok(api, "abq_recv", { channel: "@self" });
    expect(again).toMatchObject({ claimed: true, message: { id: task["id"] } });

    // Goodbye: a closed session stops being live.
    await api.client.close();
    await until(async () => !(await liveAgents(bus)).includes(API));
    expect(await liveAgents(bus)).toContain(APP);
  });
});
