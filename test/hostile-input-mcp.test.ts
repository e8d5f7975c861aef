/**
 * The hostile-input gauntlet, MCP half (the CLI half: test/hostile-input.test.ts). One `abq mcp` server,
 * a child process on a seeded bus, driven over stdio with raw JSON-RPC lines. Each case asserts the reply
 * (a JSON-RPC error with its code, or a tool result with isError whose text is one line starting with the
 * error code), that the server answers a ping right after (it stayed up), and that every message sent
 * before the case is where it was.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "./helpers.ts";
import {
  expectAccounted,
  expectStatusAgrees,
  type Gauntlet,
  type Ledger,
  openGauntlet,
  seed,
  snapshot,
} from "./fixtures/hostile/gauntlet.ts";

type Reply = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** The server's stdout as JSON-RPC messages; `next` takes the first one that matches, waiting for it. */
class Server {
  private buffer = "";
  private readonly got: Reply[] = [];
  private wake = (): void => undefined;
  private nextId = 1000;

  readonly child: ChildProcess;

  stderr = "";

  constructor(child: ChildProcess) {
    this.child = child;
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this.buffer += d;
      for (let nl = this.buffer.indexOf("\n"); nl !== -1; nl = this.buffer.indexOf("\n")) {
        this.got.push(JSON.parse(this.buffer.slice(0, nl)) as Reply);
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake();
    });
  }

  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async next(match: (r: Reply) => boolean, what: string): Promise<Reply> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const i = this.got.findIndex(match);
      if (i !== -1) return this.got.splice(i, 1)[0]!;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no reply: ${what}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  /** Sends a request and waits for the reply with its id. */
  async request(method: string, params?: unknown): Promise<Reply> {
    const id = this.nextId++;
    this.write(JSON.stringify({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) }));
    return this.next((r) => r.id === id, `${method} #${id}`);
  }
}

interface Case {
  /** A raw line (its reply has id null), or a method with params, or a tool call. */
  line?: string;
  method?: string;
  tool?: string;
  /** $C $P in string values become the seeded claimed and pending ids. */
  args?: Record<string, unknown>;
  /** A JSON-RPC error code, or a tool error: the text's one line. */
  rpc?: number;
  toolError?: RegExp;
}

const call = (tool: string, args: Record<string, unknown>, toolError: RegExp): Case => ({ tool, args, toolError });
// Over the server's ABQ_MAX_BYTES of 20000, where content spills into an attachment, and over its
// ABQ_MAX_ATTACHMENT_BYTES of 22000, where it is refused.
const big = "y".repeat(25_000);
const send = (extra: Record<string, unknown>) => ({ channel: "q", type: "signal", content: "x", ...extra });

const CASES: Record<string, Case> = {
  "a line that is not JSON": { line: "not json", rpc: -32700 },
  "a raw NUL byte in the line": { line: '{"jsonrpc":"2.0","id":5,"method":"pi\u0000ng"}', rpc: -32700 },
  "a request without a method": { line: '{"jsonrpc":"2.0","id":5}', rpc: -32600 },
  "a JSON-RPC batch": { line: '[{"jsonrpc":"2.0","id":6,"method":"ping"}]', rpc: -32600 },
  "jsonrpc 1.0": { line: '{"jsonrpc":"1.0","id":7,"method":"ping"}', rpc: -32600 },
  "an unknown method": { method: "abq/frobnicate", rpc: -32601 },
  "an unknown tool": call("abq_nope", {}, /Tool abq_nope not found/),
  // The NUL comes back as it was sent (data for an agent, not text for a terminal).
  // eslint-disable-next-line no-control-regex -- the NUL is what the name holds
  "send: a NUL in the channel name": call("abq_send", send({ channel: "a\u0000b" }), /^E_BAD_NAME: .*'a\u0000b'/),
  "send: an unknown type": call("abq_send", send({ type: "bogus" }), /^E_USAGE: type: unknown type/),
  "send: an unknown argument": call("abq_send", send({ bogus: 1 }), /^E_USAGE: Unrecognized key: "bogus"/),
  "send: content that is a number": call("abq_send", send({ content: 5 }), /^E_USAGE: content: /),
  "send: content over both caps": call("abq_send", send({ content: big }), /^E_TOO_LARGE: .*cap of 22000 bytes/),
  "send: no such channel": call("abq_send", send({ channel: "nope" }), /^E_NO_CHANNEL: no channel 'nope'/),
  "send: a ttl of 1.5": call("abq_send", send({ ttl: 1.5 }), /^E_USAGE: ttl: must be whole seconds/),
  "ask: a timeout that is a word": call("abq_ask", send({ timeout: "soon" }), /^E_USAGE: timeout: /),
  "ask: an empty channel name": call(
    "abq_ask",
    send({ channel: "", timeout: 1 }),
    /^E_BAD_NAME: channel name is empty/,
  ),
  "recv: a NUL at the end of the channel": call("abq_recv", { channel: "q\u0000" }, /^E_BAD_NAME: /),
  "recv: a negative timeout": call("abq_recv", { channel: "q", timeout: -1 }, /^E_USAGE: timeout: /),
  "recv: a subscriber ../x": call("abq_recv", { channel: "q", as: "../x" }, /^E_BAD_NAME: invalid subscriber/),
  "respond: an id ../../x": call("abq_respond", { channel: "q", id: "../../x" }, /^E_USAGE: id: is not a message id/),
  "respond: an unknown status": call("abq_respond", { channel: "q", id: "$C", status: "weird" }, /^E_USAGE: status: /),
  "respond: a result over both caps": call(
    "abq_respond",
    { channel: "q", id: "$C", result: big },
    /^E_TOO_LARGE: .*cap of 22000 bytes/,
  ),
  "respond: a lease token that is a path": call(
    "abq_respond",
    { channel: "q", id: "$C", lease: "../../x" },
    /^E_USAGE: lease: /,
  ),
  "respond: a pending message": call(
    "abq_respond",
    { channel: "q", id: "$P" },
    /^E_CONFLICT: .*is pending, not claimed/,
  ),
  "release: a delay of 1e20 s": call("abq_release", { channel: "q", id: "$C", delay: 1e20 }, /^E_USAGE: delay: /),
  "ack: a lease token that is a path": call(
    "abq_ack",
    { channel: "q", id: "$C", lease: "../../x" },
    /^E_USAGE: lease: /,
  ),
  "ack: someone else's lease token": call(
    "abq_ack",
    { channel: "q", id: "$C", lease: "zzz" },
    /^E_CONFLICT: the lease on/,
  ),
  "release: a negative delay": call("abq_release", { channel: "q", id: "$C", delay: -1 }, /^E_USAGE: delay: /),
  "status: an argument it does not take": call("abq_status", { x: 1 }, /^E_USAGE: Unrecognized key: "x"/),
  "channels: an argument it does not take": call("abq_channels", { x: 1 }, /^E_USAGE: Unrecognized key/),
  "channel_create: a name ../x": call("abq_channel_create", { name: "../x" }, /^E_BAD_NAME: /),
  "channel_create: topic 'yes'": call("abq_channel_create", { name: "z", topic: "yes" }, /^E_USAGE: topic: /),
  "ls: an unknown state": call("abq_ls", { channel: "q", state: "nope" }, /^E_USAGE: unknown state 'nope'/),
  "ls: a limit of 0": call("abq_ls", { channel: "q", limit: 0 }, /^E_USAGE: limit: /),
  "show: an id that is not hex": call("abq_show", { id: "req_zz" }, /^E_USAGE: id: /),
  "show: an unknown id": call("abq_show", { id: "req_000a" }, /^E_NO_MESSAGE: no message req_000a/),
  "cancel: no id": call("abq_cancel", { channel: "q" }, /^E_USAGE: id: /),
  "cancel: a claimed message": call("abq_cancel", { channel: "q", id: "$C" }, /^E_CONFLICT: .*is claimed/),
  "requeue: an id ../x": call("abq_requeue", { id: "../x" }, /^E_USAGE: id: /),
  "requeue: a channel ..": call("abq_requeue", { channel: "..", dry_run: true }, /^E_BAD_NAME: /),
};

describe("hostile input through abq mcp", () => {
  let g: Gauntlet;
  let ledger: Ledger;
  let server: Server;
  beforeAll(async () => {
    g = openGauntlet();
    ledger = await seed(g);
    const child = spawn(process.execPath, [CLI, "mcp"], {
      cwd: g.root,
      env: { ...g.env, ABQ_MAX_BYTES: "20000", ABQ_MAX_ATTACHMENT_BYTES: "22000" },
    });
    server = new Server(child);
    const init = await server.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "gauntlet", version: "0" },
    });
    expect(init.result?.["serverInfo"]).toMatchObject({ name: "abq" });
    server.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  });
  afterAll(() => {
    server.child.kill("SIGKILL");
    g.dispose();
  });

  it.each(Object.entries(CASES))("%s", async (_name, c) => {
    const ids = (v: unknown): unknown => (v === "$C" ? g.ids.C : v === "$P" ? g.ids.P : v);
    const args = Object.fromEntries(Object.entries(c.args ?? {}).map(([k, v]) => [k, ids(v)]));
    try {
      let reply: Reply;
      if (c.line !== undefined) {
        server.write(c.line);
        reply = await server.next((r) => r.id === null, c.line);
      } else if (c.method !== undefined) reply = await server.request(c.method, {});
      else reply = await server.request("tools/call", { name: c.tool, arguments: args });

      if (c.rpc !== undefined) expect(reply.error?.code, JSON.stringify(reply)).toBe(c.rpc);
      else {
        expect(reply.result?.["isError"], JSON.stringify(reply)).toBe(true);
        const text = (reply.result?.["content"] as Array<{ text: string }>)[0]!.text;
        expect(text).toMatch(c.toolError!);
        expect(text, "one line").not.toMatch(/\n/);
        const code = /^(E_[A-Z_]+): /.exec(text)?.[1];
        if (code !== undefined) expect(reply.result?.["structuredContent"]).toMatchObject({ error: { code } });
      }
      expect(await server.request("ping"), "the server answers the next request").toMatchObject({ result: {} });
      expectAccounted(g, ledger);
    } finally {
      ledger = snapshot(g);
    }
  });

  it("the server is still up, wrote nothing on stderr, and ends with 0 when its client leaves", async () => {
    expect(await server.request("tools/call", { name: "abq_status", arguments: {} })).toMatchObject({
      result: { structuredContent: { channels: expect.any(Array) as unknown } },
    });
    await expectStatusAgrees(g);
    const exited = new Promise((resolve) => server.child.on("exit", resolve));
    server.child.stdin!.end();
    expect(await exited).toBe(0);
    expect(server.stderr).toBe("");
  });
});
