/**
 * The coordination tools of `abq mcp` (abq_kv, abq_lock, abq_reserve) through the official SDK client,
 * spawning the built CLI over stdio, on the file spool and over NATS: compare-and-set as tool errors with
 * E_CONFLICT, locks owned by the server process (freed when it dies), reservations and their check.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type Bus, CLI, makeBus, parseJson } from "./helpers.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";

interface Result {
  isError?: boolean;
  text: string;
  json: Record<string, unknown>;
}

async function connect(
  bus: Bus,
  agent: string,
): Promise<{ call: (n: string, a: object) => Promise<Result>; client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp"],
    env: Object.fromEntries(
      Object.entries({ ...bus.env, ABQ_AGENT: agent }).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    cwd: bus.root,
    stderr: "pipe",
  });
  const client = new Client({ name: "abq-test", version: "1.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  const call = async (name: string, args: object): Promise<Result> => {
    const r = await client.callTool({ name, arguments: args as Record<string, unknown> });
    const text = (r.content as { text: string }[])[0]?.text ?? "";
    let json: Record<string, unknown> = {};
    try {
      json = parseJson(text);
    } catch {
      // an error text
    }
    return { isError: r.isError as boolean | undefined, text, json };
  };
  return { call, client, transport };
}

function coordCases(bus: () => Bus): void {
  it("abq_kv: set, get, compare-and-set conflicts as E_CONFLICT, del, ls", async () => {
    const b = bus();
    const bucket = `mcp-${Math.floor(Math.random() * 1e9)}`;
    const { call } = await connect(b, "alice");
    const set = await call("abq_kv", { op: "set", bucket, key: "owner", value: "alice", if_absent: true });
    expect(set.json).toMatchObject({ key: "owner", value: "alice", updated_by: "alice" });
    const rev = set.json["revision"] as number;
    expect((await call("abq_kv", { op: "get", bucket, key: "owner" })).json).toMatchObject({
      value: "alice",
      revision: rev,
    });
    const again = await call("abq_kv", { op: "set", bucket, key: "owner", value: "bob", if_absent: true });
    expect([again.isError, again.text]).toEqual([
      true,
      expect.stringMatching(/^E_CONFLICT: key 'owner' already has a value/),
    ]);
    const stale = await call("abq_kv", { op: "set", bucket, key: "owner", value: "bob", if_revision: rev + 1000 });
    expect(stale.text).toMatch(/^E_CONFLICT: key 'owner' is at revision \d+, not \d+/);
    expect(
      (await call("abq_kv", { op: "set", bucket, key: "owner", value: "carol", if_revision: rev })).isError,
    ).toBeUndefined();
    expect((await call("abq_kv", { op: "ls", bucket })).json).toMatchObject({
      entries: [{ key: "owner", value: "carol" }],
      expired: 0,
    });
    expect((await call("abq_kv", { op: "del", bucket, key: "owner" })).isError).toBeUndefined();
    expect((await call("abq_kv", { op: "get", bucket, key: "owner" })).text).toMatch(/^E_NO_MESSAGE: no key 'owner'/);
    expect((await call("abq_kv", { op: "get", bucket })).text).toBe("E_USAGE: op get needs key");
    expect((await call("abq_kv", { op: "get", bucket: "../x", key: "k" })).text).toMatch(
      /^E_BAD_NAME: invalid bucket name/,
    );
    expect((await call("abq_kv", { op: "set", bucket, key: "a\u0000b", value: "v" })).text).toMatch(/^E_BAD_NAME/);
  }, 60_000);

  it("abq_lock: acquire returns a token; a second server is refused; release frees it; a dead server's lock is taken", async () => {
    const b = bus();
    const name = `mcp-${Math.floor(Math.random() * 1e9)}`;
    const alice = await connect(b, "alice");
    const bob = await connect(b, "bob");
    const hold = await alice.call("abq_lock", { op: "acquire", name, ttl: 600 });
    expect(hold.json).toMatchObject({ name, owner: { agent: "alice" } });
    const token = hold.json["token"] as string;
    const refused = await bob.call("abq_lock", { op: "acquire", name });
    expect(refused.text).toMatch(new RegExp(`^E_CONFLICT: lock '${name}' is held by alice`));
    expect((await bob.call("abq_lock", { op: "list", name })).json).toMatchObject({ locks: [{ name, state: "held" }] });
    expect((await alice.call("abq_lock", { op: "renew", name, token })).json).toMatchObject({ token });
    expect((await alice.call("abq_lock", { op: "release", name, token })).isError).toBeUndefined();
    const second = await bob.call("abq_lock", { op: "acquire", name, ttl: 600 });
    expect(second.isError).toBeUndefined();
    // Bob's server dies holding it (on the spool its pid tells; over NATS too, on this host).
    const pid = bob.transport.pid!;
    process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 200));
    const taken = await alice.call("abq_lock", { op: "acquire", name });
    expect(taken.json).toMatchObject({ took_over: { owner: { agent: "bob" }, reason: "owner died" } });
  }, 60_000);

  it("abq_reserve: reserve, conflict, check (data, not an error), release", async () => {
    const b = bus();
    const p = `mcp${Math.floor(Math.random() * 1e9)}`;
    const alice = await connect(b, "alice");
    const bob = await connect(b, "bob");
    const r = await alice.call("abq_reserve", { op: "reserve", globs: [`${p}/api/**`], reason: "refactor" });
    expect(r.json).toMatchObject({ reservation: { agent: "alice", mode: "exclusive", globs: [`${p}/api/**`] } });
    expect((await bob.call("abq_reserve", { op: "reserve", globs: [`${p}/**`] })).text).toMatch(/^E_CONFLICT: /);
    const check = await bob.call("abq_reserve", { op: "check", paths: [`${p}/api/x.ts`, `${p}/web/y.ts`] });
    expect(check.json).toMatchObject({ ok: false, checked: 2, conflicts: [{ path: `${p}/api/x.ts` }] });
    expect((await alice.call("abq_reserve", { op: "release" })).json).toMatchObject({ released: [{ agent: "alice" }] });
    expect((await bob.call("abq_reserve", { op: "check", paths: [`${p}/api/x.ts`] })).json).toMatchObject({ ok: true });
  }, 60_000);
}

describe("coordination tools of abq mcp on the file spool", () => {
  coordCases(() => makeBus());

  it("adds three tools with short descriptions", async () => {
    const { client } = await connect(makeBus(), "alice");
    const tools = (await client.listTools()).tools.filter((t) => /^abq_(kv|lock|reserve)$/.test(t.name));
    expect(tools.map((t) => t.name).sort()).toEqual(["abq_kv", "abq_lock", "abq_reserve"]);
    // The three together cost under 1 000 tokens (characters / 4) of every turn's context.
    expect(JSON.stringify(tools).length / 4).toBeLessThan(1000);
  });
});

describe.skipIf(!natsAvailable())("coordination tools of abq mcp over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  coordCases(() => {
    const b = makeBus();
    b.env["ABQ_URL"] = server.url;
    return b;
  });
});
