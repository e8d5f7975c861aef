/**
 * Attachments end to end, the same cases on the file spool and on a real nats-server (JetStream Object
 * Store): the CLI (send/recv/respond/ask/show/attachment), a watch handler (ABQ_ATTACHMENTS and the stdin
 * JSON), MCP tools, and text over the inline cap spilled and read back. Over NATS the receiving side has
 * its own ABQ_HOME, so its copies can only have come from the Object Store.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { CLI, parseJson, startNode } from "./helpers.ts";
import { fsBusFactory, natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import type { BusFactory } from "./nats/shared-cases.ts";
import { ok, type Ref } from "./fixtures/attach.ts";

/** CLI: send two files, claim and extract them elsewhere, answer with one, read it back. */
async function cliRoundTrip(factory: BusFactory): Promise<void> {
  const sender = factory();
  // Over NATS, another machine: its own ABQ_HOME, so its copies come from the Object Store.
  const receiver = sender.env["ABQ_URL"] !== undefined ? factory() : sender;
  const bin = randomBytes(300_000);
  writeFileSync(join(sender.root, "data.bin"), bin);
  writeFileSync(join(sender.root, "notes.md"), "# notes\n");
  await ok(sender, ["channel", "create", "att"]);
  const sent = parseJson<{ id: string; attachments: Ref[] }>(
    await ok(sender, ["send", "att", "command", "see files", "--attach", "data.bin", "-a", "notes.md", "--json"]),
  );
  expect(sent.attachments.map((a) => [a.name, a.size, a.media_type])).toEqual([
    ["data.bin", 300_000, "application/octet-stream"],
    ["notes.md", 8, "text/markdown"],
  ]);
  const claimed = parseJson<{ id: string; attachments: Ref[] }>(await ok(receiver, ["recv", "att", "--json"]));
  expect(claimed.attachments).toEqual(sent.attachments);
  await ok(receiver, ["attachment", sent.id, "data.bin", "-o", join(receiver.root, "got.bin")]);
  expect(readFileSync(join(receiver.root, "got.bin")).equals(bin)).toBe(true);
  expect(await ok(receiver, ["attachment", sent.id, "notes.md", "-o", "-"])).toBe("# notes\n");
  const listed = (await ok(receiver, ["attachment", sent.id])).trim().split("\n");
  expect(listed).toHaveLength(2);
  expect(listed[0]).toMatch(/^data\.bin\t300000\t\/.*\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
  writeFileSync(join(receiver.root, "report.txt"), "all good\n");
  await ok(receiver, ["respond", "att", sent.id, "--result", "done", "--attach", "report.txt"]);
  const shown = await ok(sender, ["show", sent.id]);
  expect(shown).toContain("Attachment: report.txt (9 bytes, text/plain)");
  expect(await ok(sender, ["attachment", sent.id, "report.txt", "-o", "-"])).toBe("all good\n");
}

/** A watch handler gets ABQ_ATTACHMENTS and attachments[].path on stdin; ask reads a spilled answer back. */
async function watchAndSpill(factory: BusFactory): Promise<void> {
  const bus = factory({ ABQ_MAX_BYTES: "30000" });
  const handler = join(bus.root, "h.mjs");
  writeFileSync(
    handler,
    `#!/usr/bin/env node
import { readFileSync } from "node:fs";
const m = JSON.parse(readFileSync(0, "utf8"));
const paths = (process.env.ABQ_ATTACHMENTS ?? "").split("\\n").filter(Boolean);
const sizes = paths.map((p) => readFileSync(p).length);
const same = (m.attachments ?? []).every((a, i) => a.path === paths[i]);
// A long answer: over the cap, so it is spilled and read back by ask.
process.stdout.write(JSON.stringify({ sizes, same, content: m.content.length, omitted: process.env.ABQ_MSG_CONTENT_OMITTED ?? null }) + "x".repeat(50000));
`,
  );
  chmodSync(handler, 0o755);
  writeFileSync(join(bus.root, "a.txt"), "a".repeat(1000));
  await ok(bus, ["channel", "create", "w"]);
  const big = "é".repeat(40_000); // 80 000 bytes of UTF-8: spilled
  const id = parseJson<{ id: string; content: string }>(
    await ok(bus, ["send", "w", "command", "-", "--attach", "a.txt", "--json"], big),
  );
  expect(id.content).toMatch(/^\[abq: this content is 80000 bytes, over the inline cap/);
  const w = await bus.abq(["watch", "w", "--handler", handler, "--once"]);
  expect(w.code, w.stderr).toBe(0);
  const shown = parseJson<{ request: { content: string }; response: { result: string; attachments: Ref[] } }>(
    await ok(bus, ["show", id.id, "--json"]),
  );
  expect(shown.request.content).toBe(big);
  expect(shown.response.attachments.map((a) => [a.name, a.spilled])).toEqual([["result.txt", "result"]]);
  const answer = shown.response.result;
  expect(answer.endsWith("x".repeat(50000))).toBe(true);
  expect(JSON.parse(answer.slice(0, answer.indexOf("}") + 1))).toEqual({
    sizes: [1000, 80000],
    same: true,
    content: 40_000,
    omitted: "size",
  });
  // ask: a spilled answer comes back whole on stdout (the watcher runs until the answer is in).
  const watcher = startNode([CLI, "watch", "w", "--handler", handler], { env: bus.env, cwd: bus.root });
  const r = await bus.abq(["ask", "w", "command", "again", "--timeout", "60"], { timeoutMs: 90_000 });
  watcher.child.kill("SIGTERM");
  await watcher.done;
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.length).toBeGreaterThan(50_000);
}

/** MCP: abq_send with attachments, abq_recv and abq_respond return local paths. */
async function mcpRoundTrip(factory: BusFactory): Promise<void> {
  const bus = factory();
  writeFileSync(join(bus.root, "f.txt"), "from mcp\n");
  await ok(bus, ["channel", "create", "m"]);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, "mcp"],
    env: {
      ...Object.fromEntries(Object.entries(bus.env).filter((e): e is [string, string] => e[1] !== undefined)),
      ABQ_MAX_BYTES: "20000", // so the long content below spills
    },
    cwd: bus.root,
    stderr: "pipe",
  });
  const client = new Client({ name: "abq-test", version: "1.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { text: string }[])[0]?.text ?? "";
    expect(r.isError, text).toBeFalsy();
    return parseJson<Record<string, unknown>>(text);
  };
  const sent = await call("abq_send", {
    channel: "m",
    type: "command",
    content: "x",
    attachments: [join(bus.root, "f.txt")],
  });
  const sentRefs = sent["attachments"] as Ref[];
  expect(readFileSync(sentRefs[0]!.path!, "utf8")).toBe("from mcp\n");
  const got = await call("abq_recv", { channel: "m" });
  const message = got["message"] as { id: string; attachments: Ref[] };
  expect(message.attachments[0]).toMatchObject({ name: "f.txt", size: 9 });
  expect(readFileSync(message.attachments[0]!.path!, "utf8")).toBe("from mcp\n");
  const answered = await call("abq_respond", {
    channel: "m",
    id: message.id,
    result: "ok",
    attachments: [join(bus.root, "f.txt")],
  });
  expect((answered["attachments"] as Ref[])[0]!.path).toMatch(/blobs\/sha256\//);
  // Content over the inline cap spills; abq_show (like recv) gives it back whole.
  const long = "long line of content\n".repeat(2000);
  const spilled = await call("abq_send", { channel: "m", type: "command", content: long });
  expect((spilled["attachments"] as Ref[]).map((a) => a.spilled)).toEqual(["content"]);
  const shown = await call("abq_show", { id: spilled["id"] });
  expect((shown["request"] as { content: string }).content).toBe(long);
}

const CASES: [string, (f: BusFactory) => Promise<void>][] = [
  ["CLI: send, recv, extract, respond with attachments", cliRoundTrip],
  ["watch handler paths; content and answers over the cap spill and read back", watchAndSpill],
  ["MCP tools take attachments and return local paths", mcpRoundTrip],
];

describe.skipIf(!natsAvailable())("attachments over NATS (Object Store)", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const factory = natsBusFactory(() => server);
  for (const [name, run] of CASES) it(name, () => run(factory), 120_000);
});

describe("attachments on the file spool", () => {
  for (const [name, run] of CASES) it(name, () => run(fsBusFactory), 60_000);
});
