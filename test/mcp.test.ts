/**
 * `abq mcp` through the official SDK's client, spawning the built CLI over stdio: the tool list and its
 * schemas, every tool, ask answered by a real `abq watch` handler (with progress notes), ask timing out
 * as data, and bad input coming back as tool errors that carry the CLI's codes and messages.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI, makeBus, parseJson, startNode, type Bus } from "./helpers.ts";

interface ToolResult {
  isError?: boolean;
  text: string;
  json: Record<string, unknown>;
  structured: unknown;
}

interface Session {
  client: Client;
  call: (
    name: string,
    args?: Record<string, unknown>,
    opts?: { onprogress?: (p: unknown) => void },
  ) => Promise<ToolResult>;
}

async function connect(bus: Bus, env: NodeJS.ProcessEnv = {}): Promise<Session> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp"],
    env: Object.fromEntries(
      Object.entries({ ...bus.env, ...env }).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    cwd: bus.root,
    stderr: "pipe",
  });
  const client = new Client({ name: "abq-test", version: "1.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  const call: Session["call"] = async (name, args = {}, opts = {}) => {
    const r = await client.callTool({ name, arguments: args }, undefined, opts);
    const content = r.content as { type: string; text: string }[];
    const text = content[0]?.text ?? "";
    let json: Record<string, unknown> = {};
    try {
      json = parseJson(text);
    } catch {
      // error texts are not JSON
    }
    return { isError: r.isError as boolean | undefined, text, json, structured: r.structuredContent };
  };
  return { client, call };
}

const TOOLS = [
  "abq_ack",
  "abq_ask",
  "abq_cancel",
  "abq_channel_create",
  "abq_channels",
  "abq_kv",
  "abq_lock",
  "abq_ls",
  "abq_recv",
  "abq_release",
  "abq_requeue",
  "abq_reserve",
  "abq_respond",
  "abq_search",
  "abq_send",
  "abq_show",
  "abq_status",
];

describe("abq mcp", () => {
  it("lists the abq_ tools with input schemas from the library's zod schemas", async () => {
    const bus = makeBus();
    const { client } = await connect(bus);
    expect(client.getServerVersion()).toMatchObject({ name: "abq" });
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(TOOLS);
    const send = tools.find((t) => t.name === "abq_send")!;
    expect(send.inputSchema).toMatchObject({
      type: "object",
      required: ["channel", "type"],
      additionalProperties: false,
      properties: {
        channel: { type: "string" },
        type: { enum: ["signal", "command", "eval", "status"] },
        content: { type: "string", default: "" },
        ttl: { type: "integer" },
        reply_to: { type: "string" },
        create: { type: "boolean", default: false },
      },
    });
    const respond = tools.find((t) => t.name === "abq_respond")!;
    expect(respond.inputSchema.properties).toMatchObject({
      status: { enum: ["success", "error", "pending"], default: "success" },
      id: { type: "string", pattern: expect.any(String) as string },
    });
    const ls = tools.find((t) => t.name === "abq_ls")!;
    expect(Object.keys(ls.inputSchema.properties ?? {}).sort()).toEqual(["as", "channel", "limit", "oldest", "state"]);
    expect(tools.find((t) => t.name === "abq_ask")!.inputSchema.properties).toHaveProperty("timeout.default", 30);
    expect(tools.find((t) => t.name === "abq_status")!.annotations).toMatchObject({ readOnlyHint: true });
  });

  it("every tool works: create, send, ls, recv, respond, show, status, channels, cancel", async () => {
    const bus = makeBus();
    const { call } = await connect(bus);

    const created = await call("abq_channel_create", { name: "jobs", description: "work to do" });
    expect(created.isError).toBeFalsy();
    expect(created.json).toMatchObject({ name: "jobs", kind: "queue", created: true, description: "work to do" });
    expect(created.structured).toEqual(created.json);
    expect((await call("abq_channel_create", { name: "jobs" })).json).toMatchObject({ created: false });

    const sent = await call("abq_send", {
      channel: "jobs",
      type: "command",
      content: '{"run":"lint"}',
      reply_to: "done",
    });
    expect(sent.isError).toBeFalsy();
    expect(sent.json).toMatchObject({
      to: "jobs",
      type: "command",
      content: '{"run":"lint"}',
      reply_to: "done",
      ttl: expect.any(Number) as number,
      from: { agent: "test/agent", pwd: bus.root },
    });
    const id = sent.json["id"] as string;
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    const other = (await call("abq_send", { channel: "jobs", type: "signal", content: "later" })).json["id"] as string;

    const listed = await call("abq_ls", { channel: "jobs", oldest: true });
    expect(listed.json).toMatchObject({ channel: "jobs", state: "requests", total: 2 });
    expect((listed.json["messages"] as { id: string }[]).map((m) => m.id)).toEqual([id, other]);
    expect((await call("abq_ls", { channel: "jobs", state: "pending", limit: 1 })).json).toMatchObject({
      total: 2,
      messages: [{ id: other }],
    });

    const claimed = await call("abq_recv", { channel: "jobs" });
    expect(claimed.json).toMatchObject({ claimed: true, channel: "jobs", message: { id, content: '{"run":"lint"}' } });
    expect(claimed.json["path"]).toMatch(new RegExp(`processing/${id}\\.json$`));

    const answered = await call("abq_respond", { channel: "jobs", id, result: "lint clean" });
    expect(answered.json).toMatchObject({ id, status: "success", result: "lint clean", error: null });
    const shown = await call("abq_show", { id });
    expect(shown.json).toMatchObject({ channel: "jobs", response: { result: "lint clean" } });
    expect(["answered", "done"]).toContain(shown.json["state"]);

    // cancel withdraws the one nobody claimed; answering twice is a conflict, with the CLI's code.
    expect((await call("abq_cancel", { channel: "jobs", id: other })).json).toEqual({
      channel: "jobs",
      id: other,
      cancelled: true,
    });
    const twice = await call("abq_respond", { channel: "jobs", id, result: "again" });
    expect(twice.isError).toBe(true);
    expect(twice.text).toMatch(/^E_CONFLICT: /);
    expect(twice.structured).toMatchObject({ error: { code: "E_CONFLICT" } });

    // requeue takes nothing back from a live bus: no claim here has a dead owner or an expired lease.
    expect((await call("abq_requeue", { channel: "jobs", dead_owners: true })).json).toEqual({ results: [] });

    const empty = await call("abq_recv", { channel: "jobs" });
    expect(empty.isError).toBeFalsy();
    expect(empty.json).toMatchObject({ claimed: false, channel: "jobs", reason: "no pending messages in 'jobs'" });
    const t0 = Date.now();
    expect((await call("abq_recv", { channel: "jobs", wait: true, timeout: 0.3 })).json).toMatchObject({
      claimed: false,
    });
    expect(Date.now() - t0).toBeLessThan(5000);

    const st = await call("abq_status");
    expect(st.json).toMatchObject({ home: bus.home, agent: "test/agent", inbox: "inbox.test.agent" });
    const rows = st.json["channels"] as { name: string; pending: number }[];
    expect(rows.find((c) => c.name === "jobs")).toMatchObject({ pending: 0, processing: 0 });
    expect(rows.find((c) => c.name === "done")).toMatchObject({ pending: 1 }); // the reply_to copy
    const chans = await call("abq_channels");
    expect((chans.json["channels"] as { name: string }[]).map((c) => c.name)).toEqual(
      expect.arrayContaining(["jobs", "done"]) as string[],
    );

    // @self is the caller's inbox, created on first use.
    await call("abq_send", { channel: "@self", type: "signal", content: "note to self" });
    expect((await call("abq_recv", { channel: "@self" })).json).toMatchObject({
      claimed: true,
      channel: "inbox.test.agent",
      message: { content: "note to self" },
    });
  });

  it("the server's identity is its working directory's git context unless ABQ_AGENT is set", async () => {
    const bus = makeBus();
    const { call } = await connect(bus, { ABQ_AGENT: "github.com/acme/api/main" });
    expect((await call("abq_status")).json).toMatchObject({
      agent: "github.com/acme/api/main",
      inbox: "inbox.github.com.acme.api.main",
    });
  });

  it("ask is answered by a real abq watch handler, with its progress note on the way", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "svc"]);
    const handler = `node ${CLI} respond "$ABQ_CHANNEL" "$ABQ_MSG_ID" --status pending --result working >/dev/null && echo "pong: $ABQ_MSG_CONTENT" && :`;
    const { child } = startNode([CLI, "watch", "svc", "--handler", handler], {
      env: bus.env,
      cwd: bus.root,
      timeoutMs: 120_000,
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    const { call } = await connect(bus);
    const notes: unknown[] = [];
    const r = await call(
      "abq_ask",
      { channel: "svc", type: "eval", content: "ping", timeout: 30 },
      { onprogress: (p) => notes.push(p) },
    );
    expect(r.isError).toBeFalsy();
    expect(r.json).toMatchObject({
      answered: true,
      channel: "svc",
      response: { status: "success", result: "pong: ping", error: null },
    });
    // First the request's id (so a client that gives up can withdraw it), then the handler's progress note
    // (and, on a slow machine, "still waiting" heartbeats between them).
    expect(notes[0]).toMatchObject({
      progress: 1,
      message: `sent ${r.json["id"] as string} to svc; waiting up to 30s for its answer`,
    });
    expect(notes).toContainEqual(expect.objectContaining({ message: "working" }));

    // An error answer is data too: the tool succeeded, the other side said no.
    const failing = `echo "no such thing" >&2; exit 3`;
    child.kill("SIGINT");
    const { child: second } = startNode([CLI, "watch", "svc", "--handler", failing], {
      env: bus.env,
      cwd: bus.root,
      timeoutMs: 120_000,
    });
    onTestFinished(() => {
      if (second.exitCode === null) second.kill("SIGKILL");
    });
    const bad = await call("abq_ask", { channel: "svc", type: "command", content: "x", timeout: 30 });
    expect(bad.isError).toBeFalsy();
    expect(bad.json).toMatchObject({ answered: true, response: { status: "error", error: "no such thing" } });
  });

  it("ask without an answer returns answered: false promptly, and the request stays queued", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "void"]);
    const { call } = await connect(bus);
    const t0 = Date.now();
    const r = await call("abq_ask", { channel: "void", type: "command", content: "anyone?", timeout: 1 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
    expect(r.isError).toBeFalsy();
    expect(r.json).toMatchObject({ answered: false, channel: "void", timeout: 1 });
    const id = r.json["id"] as string;
    expect((await call("abq_show", { id })).json).toMatchObject({ state: "pending" });
    expect((await call("abq_cancel", { channel: "void", id })).json).toMatchObject({ cancelled: true });
  });

  it("bad input comes back as tool errors with the CLI's codes and messages", async () => {
    const bus = makeBus();
    const { call } = await connect(bus);
    const cli = async (args: string[]): Promise<string> => (await bus.abq(args)).stderr.replace(/^abq: /, "").trim();

    const noChannel = await call("abq_send", { channel: "nope", type: "signal", content: "hi" });
    expect(noChannel.isError).toBe(true);
    // The same message as the CLI's, with the hint naming what creates it here: the tool's own argument.
    expect(noChannel.text).toBe("E_NO_CHANNEL: no channel 'nope' (pass create: true to create it)");
    expect(await cli(["send", "nope", "signal", "hi"])).toBe(
      "no channel 'nope' (create it with: abq channel create nope)",
    );

    const badName = await call("abq_send", { channel: "../etc", type: "signal" });
    expect(badName.isError).toBe(true);
    expect(badName.text).toBe(`E_BAD_NAME: ${await cli(["send", "../etc", "signal", "hi"])}`);

    await call("abq_channel_create", { name: "q" });
    const badType = await call("abq_send", { channel: "q", type: "shout", content: "hi" });
    expect(badType.isError).toBe(true);
    expect(badType.text).toBe(`E_USAGE: ${await cli(["send", "q", "shout", "hi"])}`);
    expect(badType.text).toMatch(/unknown type: use one of signal, command, eval, status/);

    const badStatus = await call("abq_respond", { channel: "q", id: "req_0123", status: "maybe" });
    expect(badStatus.text).toMatch(/^E_USAGE: status: unknown status/);
    const badId = await call("abq_cancel", { channel: "q", id: "42" });
    expect(badId.text).toMatch(/^E_USAGE: id: is not a message id/);
    const missing = await call("abq_send", { type: "signal" });
    expect(missing).toMatchObject({ isError: true, text: expect.stringMatching(/^E_USAGE: channel: /) as string });
    // A misspelled argument is refused rather than silently ignored.
    const typo = await call("abq_send", { channel: "q", type: "signal", replyTo: "x" });
    expect(typo.text).toMatch(/^E_USAGE: .*replyTo/);
    const negative = await call("abq_ask", { channel: "q", type: "signal", timeout: -1 });
    expect(negative.text).toMatch(/^E_USAGE: timeout: /);
    const badCreate = await call("abq_channel_create", { name: "Bad Name" });
    expect(badCreate.text).toMatch(/^E_BAD_NAME: invalid channel name 'Bad Name'/);
    const unknownMessage = await call("abq_respond", { channel: "q", id: "req_0123456789abcdef0123456789abcdef" });
    expect(unknownMessage.text).toMatch(/^E_(NO_MESSAGE|CONFLICT): /);
  });
});
