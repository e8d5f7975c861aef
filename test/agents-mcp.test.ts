/**
 * The mailbox experience of `abq mcp`, through the MCP SDK's real Client over stdio against the built
 * CLI: addresses in every tool that takes a channel (@self, agent names and suffixes, against the
 * server's own --home), hints that name tool arguments, abq_ask's progress (the id first, then a
 * heartbeat) and its timeout result, and the size of tools/list. Presence: agents-presence.test.ts.
 */
import { describe, expect, it } from "vitest";
import { makeBus, tempDir } from "./helpers.ts";
import { API, API_INBOX } from "./fixtures/agents/agents.ts";
import { connect, type Progress } from "./fixtures/agents/mcp-client.ts";

describe("addresses in MCP tools", () => {
  it("@self works in every tool that takes a channel, as in the CLI", async () => {
    const bus = makeBus();
    const { call } = await connect(bus);
    const inbox = "inbox.test.agent";
    // A never-used inbox is empty, not missing.
    expect((await call("abq_ls", { channel: "@self" })).json).toEqual({
      channel: inbox,
      state: "requests",
      total: 0,
      messages: [],
    });
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) {
      const sent = await call("abq_send", { channel: "@self", type: "command", content: `job ${n}` });
      expect(sent.json).toMatchObject({ to: inbox });
      ids.push(sent.json["id"] as string);
    }
    expect((await call("abq_ls", { channel: "@self", oldest: true })).json).toMatchObject({ channel: inbox, total: 4 });
    expect((await call("abq_show", { id: ids[0], channel: "@self" })).json).toMatchObject({
      channel: inbox,
      state: "pending",
    });
    expect((await call("abq_cancel", { channel: "@self", id: ids[3] })).json).toEqual({
      channel: inbox,
      id: ids[3],
      cancelled: true,
    });
    const first = await call("abq_recv", { channel: "@self" });
    expect(first.json).toMatchObject({ claimed: true, channel: inbox, message: { id: ids[0] } });
    const lease = (first.json["lease"] as { token: string }).token;
    expect((await call("abq_respond", { channel: "@self", id: ids[0], lease, result: "ok" })).json).toMatchObject({
      status: "success",
    });
    await call("abq_recv", { channel: "@self" });
    expect((await call("abq_release", { channel: "@self", id: ids[1] })).json).toMatchObject({
      channel: inbox,
      outcome: "released",
    });
    await call("abq_recv", { channel: "@self" });
    expect((await call("abq_ack", { channel: "@self", id: ids[1] })).json).toEqual({
      channel: inbox,
      id: ids[1],
      acknowledged: true,
    });
    expect((await call("abq_requeue", { channel: "@self", dry_run: true })).json).toEqual({ results: [] });
    // reply_to @self creates the inbox of whoever asks, as in the CLI.
    await call("abq_channel_create", { name: "jobs" });
    const other = await connect(bus, { env: { ABQ_AGENT: "test/other" } });
    expect((await other.call("abq_send", { channel: "jobs", type: "eval", reply_to: "@self" })).json).toMatchObject({
      reply_to: "inbox.test.other",
    });
    expect((await other.call("abq_ls", { channel: "@self" })).json).toMatchObject({ total: 0 });
  });

  it("agent names and suffixes address inboxes, looked up on the server's own --home", async () => {
    const bus = makeBus();
    // The server's bus is --home; ABQ_HOME points elsewhere and must not be where agents are looked up.
    const { call } = await connect(bus, { global: ["--home", bus.home], env: { ABQ_HOME: tempDir() } });
    const unknown = await call("abq_send", { channel: "api/main", type: "signal", content: "x" });
    expect(unknown.isError).toBe(true);
    // (This session itself is known: its heartbeat is on the bus.)
    expect(unknown.text).toMatch(
      /^E_BAD_NAME: no known agent matches 'api\/main': .* \(abq agents, or the abq_status tool/,
    );
    // A whole name always works (the inbox is made on first use); after that, its suffix does too.
    expect((await call("abq_send", { channel: API, type: "signal", content: "hi" })).json).toMatchObject({
      to: API_INBOX,
    });
    for (const channel of ["api/main", "acme/api/main"]) {
      expect((await call("abq_send", { channel, type: "signal", content: channel })).json).toMatchObject({
        to: API_INBOX,
      });
    }
    expect((await call("abq_ls", { channel: "api/main" })).json).toMatchObject({ channel: API_INBOX, total: 3 });
    await call("abq_send", { channel: "gitlab.com/beta/api/main", type: "signal" });
    const ambiguous = await call("abq_ls", { channel: "api/main" });
    expect(ambiguous.text).toBe(
      "E_USAGE: 'api/main' matches 2 agents: inbox.github.com.acme.api.main, inbox.gitlab.com.beta.api.main " +
        "(give more of the agent's name (or its whole name, or its inbox channel))",
    );
    // Not identities: refused as channel names, exactly as before.
    expect((await call("abq_send", { channel: "../x", type: "signal" })).text).toMatch(
      /^E_BAD_NAME: invalid channel name '\.\.\/x'/,
    );
  });

  it("a missing channel's hint names the tool argument or tool that creates it", async () => {
    const bus = makeBus();
    const { call } = await connect(bus);
    expect((await call("abq_send", { channel: "nope", type: "signal" })).text).toBe(
      "E_NO_CHANNEL: no channel 'nope' (pass create: true to create it)",
    );
    expect((await call("abq_ask", { channel: "nope", type: "eval", timeout: 1 })).text).toBe(
      "E_NO_CHANNEL: no channel 'nope' (pass create: true to create it)",
    );
    const recv = await call("abq_recv", { channel: "nope" });
    expect(recv.text).toBe(
      `E_NO_CHANNEL: no channel 'nope' (create it with the abq_channel_create tool (name: "nope"))`,
    );
    expect(recv.structured).toMatchObject({
      error: { code: "E_NO_CHANNEL", hint: expect.stringContaining("abq_channel_create") as string },
    });
    expect((await call("abq_send", { channel: "nope", type: "signal", create: true })).isError).toBeFalsy();
  });
});

describe("abq_ask and waits that fit MCP clients", () => {
  it("the first progress note names the request; silent waits send a heartbeat; a timeout says how to withdraw", async () => {
    const bus = makeBus();
    const { call } = await connect(bus);
    await call("abq_channel_create", { name: "void" });
    const askNotes: Progress[] = [];
    const recvNotes: Progress[] = [];
    const [asked, received] = await Promise.all([
      call("abq_ask", { channel: "void", type: "command", content: "anyone?", timeout: 6 }, { progress: askNotes }),
      call("abq_recv", { channel: "@self", wait: true, timeout: 6 }, { progress: recvNotes }),
    ]);
    const id = asked.json["id"] as string;
    expect(asked.json).toMatchObject({
      answered: false,
      id,
      channel: "void",
      timeout: 6,
      withdraw: { tool: "abq_cancel", arguments: { channel: "void", id } },
    });
    expect(asked.json["note"]).toContain(`withdraw it with abq_cancel (channel: "void", id: "${id}")`);
    expect(askNotes[0]).toMatchObject({ progress: 1, message: `sent ${id} to void; waiting up to 6s for its answer` });
    expect(askNotes[0]!.at).toBeLessThan(2000);
    expect(askNotes.slice(1).map((n) => n.message)).toContainEqual(
      expect.stringMatching(new RegExp(`^still waiting for the answer to ${id} \\(\\d+s of 6s\\)$`)),
    );
    expect(received.json).toMatchObject({ claimed: false });
    expect(recvNotes.map((n) => n.message)).toContainEqual(
      expect.stringMatching(/^still waiting for a message in inbox\.test\.agent \(\d+s of 6s\)$/),
    );
    // No silence longer than 10 s, from the start of the call to its end.
    for (const notes of [askNotes, recvNotes]) {
      const times = [0, ...notes.map((n) => n.at), 6000];
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(10_000);
    }
    // The withdraw call works as given.
    const withdraw = asked.json["withdraw"] as { tool: string; arguments: Record<string, unknown> };
    expect((await call(withdraw.tool, withdraw.arguments)).json).toMatchObject({ cancelled: true });
  });

  it("tools/list stays small: under a quarter of mcp_agent_mail's 24.7 k tokens (characters / 4)", async () => {
    const bus = makeBus();
    const { client } = await connect(bus);
    const listed = JSON.stringify(await client.listTools());
    expect(listed.length / 4).toBeLessThan(24_700 / 4);
  });
});
