/**
 * `abq mcp`'s claim tools: abq_recv hands out the lease, abq_ack and abq_release finish the claim through
 * the library's claim handle, fenced by that lease; abq_status, abq_ls and abq_show show every state.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI, makeBus, until, type Bus } from "./helpers.ts";

/** The fields of tool results these tests read. */
interface Result {
  id: string;
  claimed?: boolean;
  lease: { token: string };
  message: { attempts?: number };
  channels: { name: string }[];
}

type Call = (
  name: string,
  args?: Record<string, unknown>,
) => Promise<{ isError?: boolean; text: string; json: Result }>;

async function connect(bus: Bus): Promise<Call> {
  const env = Object.fromEntries(Object.entries(bus.env).filter((e): e is [string, string] => e[1] !== undefined));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp"],
    env,
    cwd: bus.root,
    stderr: "pipe",
  });
  const client = new Client({ name: "abq-test", version: "1.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  return async (name, args = {}) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { text: string }[])[0]?.text ?? "";
    return { isError: r.isError as boolean | undefined, text, json: (r.isError ? {} : JSON.parse(text)) as Result };
  };
}

describe("abq mcp: ack and release", () => {
  it("release (now, and with a delay), ack, and a stale lease refused with E_CONFLICT", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const call = await connect(bus);
    const id = (await call("abq_send", { channel: "q", type: "command", content: "job" })).json.id;

    const first = await call("abq_recv", { channel: "q" });
    expect(first.json).toMatchObject({
      claimed: true,
      channel: "q",
      message: { id },
      lease: { token: expect.any(String) as string },
    });
    const stale = first.json.lease.token;
    expect(await call("abq_release", { channel: "q", id, lease: stale })).toMatchObject({
      json: { channel: "q", id, outcome: "released" },
    });

    const second = await call("abq_recv", { channel: "q" });
    const token = second.json.lease.token;
    expect(token).not.toBe(stale);
    for (const [tool, extra] of [
      ["abq_ack", {}],
      ["abq_release", { delay: 60 }],
      ["abq_respond", { result: "x" }],
    ] as const) {
      const refused = await call(tool, { channel: "q", id, lease: stale, ...extra });
      expect(refused.isError, tool).toBe(true);
      expect(refused.text).toMatch(/^E_CONFLICT: the lease on req_\w+ was lost/);
    }
    expect((await call("abq_show", { id })).json).toMatchObject({ state: "claimed", lease: { token } });

    const delayed = await call("abq_release", { channel: "q", id, lease: token, delay: 1 });
    expect(delayed.json).toEqual({ channel: "q", id, outcome: "delayed", delay_s: 1 });
    expect((await call("abq_ls", { channel: "q", state: "delayed" })).json).toMatchObject({
      state: "delayed",
      total: 1,
    });
    const status = (await call("abq_status")).json.channels.find((c) => c.name === "q");
    expect(status).toMatchObject({ pending: 0, delayed: 1, dead: 0, expired: 0, rejected: 0, late: 1 });
    expect((await call("abq_recv", { channel: "q" })).json).toMatchObject({ claimed: false });

    let third: Result | undefined;
    await until(async () => (third = (await call("abq_recv", { channel: "q" })).json).claimed === true, 15_000);
    expect(third!.message.attempts ?? 0).toBe(0);
    expect((await call("abq_ack", { channel: "q", id, lease: third!.lease.token })).json).toEqual({
      channel: "q",
      id,
      acknowledged: true,
    });
    expect((await call("abq_show", { id })).json).toMatchObject({
      state: "acknowledged",
      reason: { state: "acknowledged" },
    });
  });

  it("recv says what it expired on the way; ls gives the reason of a state", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "q"]);
    const call = await connect(bus);
    const old = (await call("abq_send", { channel: "q", type: "signal", content: "old", ttl: 1 })).json.id;
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call("abq_recv", { channel: "q" })).json).toMatchObject({
      claimed: false,
      skipped: { expired: [old], rejected: [] },
    });
    const ls = await call("abq_ls", { channel: "q", state: "expired" });
    expect(ls.json).toMatchObject({ state: "expired", total: 1, messages: [{ id: old, reason: { ttl: 1 } }] });
    expect((await call("abq_show", { id: old })).json).toMatchObject({ state: "expired", reason: { ttl: 1 } });
  });
});
