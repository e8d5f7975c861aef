/**
 * `abq mcp` over the JetStream transport: the same tools, with ABQ_URL pointing at a real nats-server.
 * An agent on one "machine" asks through MCP; a watcher on another answers. The session's shared
 * connection (src/mcp/session.ts) survives a server restart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, parseJson, startNode, until, untilTailIsLive } from "./helpers.ts";
import { mcpClient } from "./fixtures/mcp-client.ts";
import { natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { fresh } from "./nats/shared-cases.ts";

describe.skipIf(!natsAvailable())("abq mcp over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("send, recv, respond and ask work as tools against JetStream", async () => {
    const agent = natsBusFactory(() => server)({ ABQ_AGENT: "mcp/agent" });
    const worker = natsBusFactory(() => server)({ ABQ_AGENT: "remote/worker" });
    const ch = fresh("mcpnats");
    const client = await mcpClient(agent);
    const call = async (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const r = await client.callTool({ name, arguments: args });
      const text = (r.content as { text: string }[])[0]?.text ?? "";
      expect(r.isError, text).toBeFalsy();
      return parseJson(text);
    };

    await call("abq_channel_create", { name: ch });
    const sent = await call("abq_send", { channel: ch, type: "signal", content: "over jetstream" });
    const got = await call("abq_recv", { channel: ch });
    expect(got).toMatchObject({ claimed: true, message: { id: sent["id"], content: "over jetstream" } });
    await call("abq_respond", { channel: ch, id: sent["id"], result: "seen" });

    const watcher = startNode([CLI, "watch", ch, "--handler", `printf 'worker: %s' "$ABQ_MSG_CONTENT" && :`], {
      env: worker.env,
      timeoutMs: 60_000,
    });
    try {
      const asked = await call("abq_ask", { channel: ch, type: "command", content: "ping", timeout: 30 });
      expect(asked).toMatchObject({ answered: true, response: { status: "success", result: "worker: ping" } });
    } finally {
      watcher.child.kill("SIGTERM");
      await watcher.done;
    }
  });

  it("a session's shared connection outlives a nats-server restart, and a call made while it is down", async () => {
    const agent = natsBusFactory(() => server)({ ABQ_AGENT: "mcp/restart" });
    const ch = fresh("mcprestart");
    const client = await mcpClient(agent);
    const call = async (name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> => {
      const r = await client.callTool({ name, arguments: args });
      return { isError: r.isError === true, text: (r.content as { text: string }[])[0]?.text ?? "" };
    };
    const ok = async (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const r = await call(name, args);
      expect(r.isError, r.text).toBe(false);
      return parseJson(r.text);
    };

    await ok("abq_channel_create", { name: ch });
    const sent = [(await ok("abq_send", { channel: ch, type: "signal", content: "before" }))["id"]];
    await server.restart();
    sent.push((await ok("abq_send", { channel: ch, type: "signal", content: "after" }))["id"]);

    // A call while the server is down either waits for it (the connection reconnects) or fails with
    // E_IO; either way the session works once the server is back.
    const restarting = server.restart(1_500);
    await new Promise((r) => setTimeout(r, 500));
    const during = await call("abq_send", { channel: ch, type: "signal", content: "during" });
    await restarting;
    if (during.isError) expect(during.text).toMatch(/^E_IO: /);
    else sent.push(parseJson(during.text)["id"]);
    sent.push((await ok("abq_send", { channel: ch, type: "signal", content: "final" }))["id"]);

    const got: unknown[] = [];
    for (let i = 0; i < sent.length; i++) {
      const r = await ok("abq_recv", { channel: ch });
      expect(r["claimed"]).toBe(true);
      got.push((r["message"] as { id: string }).id);
    }
    expect(got).toEqual(sent);
    expect(await ok("abq_recv", { channel: ch })).toMatchObject({ claimed: false });

    // A recv waiting across a restart keeps its connection, which reconnects: it gets what is sent after.
    const waiting = call("abq_recv", { channel: ch, wait: true, timeout: 30 });
    await new Promise((r) => setTimeout(r, 300));
    await server.restart();
    const late = parseJson<{ id: string }>((await agent.abq(["send", ch, "signal", "late", "--json"])).stdout);
    const woke = await waiting;
    expect(woke.isError, woke.text).toBe(false);
    expect(parseJson(woke.text)).toMatchObject({ claimed: true, message: { id: late.id } });
  });
});

describe.skipIf(!natsAvailable())("abq tail over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("prints messages and answers as they arrive", async () => {
    const bus = natsBusFactory(() => server)({ ABQ_AGENT: "tail/agent" });
    const ch = fresh("tailnats");
    expect((await bus.abq(["channel", "create", ch])).code).toBe(0);
    // Traffic from before the tail starts is not shown: one message already answered.
    const before = parseJson<{ id: string }>((await bus.abq(["send", ch, "signal", "before", "--json"])).stdout);
    expect((await bus.abq(["recv", ch])).code).toBe(0);
    expect((await bus.abq(["respond", ch, before.id, "--result", "old"])).code).toBe(0);
    const tail = startNode([CLI, "tail", ch, "--json"], { env: bus.env, timeoutMs: 60_000 });
    let out = "";
    tail.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const sendCommand = async (content: string) =>
        parseJson<{ id: string }>((await bus.abq(["send", ch, "command", content, "--json"])).stdout).id;
      const probes = await untilTailIsLive(
        () => out,
        (i) => sendCommand(`probe ${i}`),
      );
      const sent = { id: await sendCommand("during") };
      await until(() => out.includes(sent.id), 20_000);
      // Claims go oldest first: the probes come off before the message this test answers.
      for (const probe of probes) expect((await bus.abq(["recv", ch, "--json"])).stdout).toContain(probe);
      expect((await bus.abq(["recv", ch, "--json"])).stdout).toContain(sent.id);
      await bus.abq(["respond", ch, sent.id, "--result", "done"]);
      await until(() => out.includes('"kind":"response"'), 20_000);
      const events = out
        .trim()
        .split("\n")
        .map((l) => parseJson<{ kind: string; message?: { content: string } }>(l));
      expect(events.some((e) => e.kind === "message" && e.message?.content === "during")).toBe(true);
      expect(events.some((e) => e.message?.content === "before")).toBe(false);
    } finally {
      tail.child.kill("SIGINT");
      await tail.done;
    }
  });
});
