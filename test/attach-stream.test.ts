/**
 * Attachments stream end to end: a large file sent with --attach, piped in as oversized content, and
 * extracted with -o, while each CLI process's peak RSS (VmHWM from /proc, sampled until it exits) stays
 * far below the file's size; over NATS too (upload, and download on another home). 256 MiB by default to keep CI quick on 2 CPUs; ABQ_TEST_ATTACH_MB=1024 runs
 * the 1 GiB case (bench/attach.mjs measures 1 GiB too).
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync, createReadStream } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { afterAll, beforeAll } from "vitest";
import { CLI, makeBus, parseJson, type Bus } from "./helpers.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";

const MB = Number(process.env["ABQ_TEST_ATTACH_MB"] ?? 256);
/** Peak RSS allowed per process: Node itself takes ~50-70 MB; the file must not be in memory. */
const RSS_LIMIT_MB = 160;

/** Writes `mb` MiB of incompressible bytes (every block is really written: no sparse file). */
function bigFile(path: string, mb: number): string {
  const block = randomBytes(1024 * 1024);
  const hash = createHash("sha256");
  const fd = openSync(path, "w");
  for (let i = 0; i < mb; i++) {
    block.writeUInt32LE(i, 0); // each block differs
    writeSync(fd, block);
    hash.update(block);
  }
  closeSync(fd);
  return hash.digest("hex");
}

async function hashOf(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Runs `abq <args>` (stdin from `stdinFile`), sampling its peak RSS until it exits. */
async function measured(
  bus: Bus,
  args: string[],
  stdinFile?: string,
): Promise<{ code: number | null; stdout: string; stderr: string; peakMb: number }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: bus.root,
    env: bus.env,
    stdio: [stdinFile !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
  });
  if (stdinFile !== undefined) createReadStream(stdinFile).pipe(child.stdin!);
  let stdout = "";
  let stderr = "";
  const closed = new Promise((r) => child.on("close", r));
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  let peakKb = 0;
  const sample = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 10);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => (sample(), resolve(c))));
  clearInterval(timer);
  await closed;
  return { code, stdout, stderr, peakMb: peakKb / 1024 };
}

describe("attachments stream", () => {
  it(`a ${MB} MiB attachment and ${MB} MiB of piped content never sit whole in memory`, async () => {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    expect((await bus.abq(["channel", "create", "big"])).code).toBe(0);
    const file = join(bus.root, "big.bin");
    const sha = bigFile(file, MB);

    const sent = await measured(bus, ["send", "big", "command", "here", "--attach", file, "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const message = parseJson<{ id: string; attachments: { sha256: string; size: number }[] }>(sent.stdout);
    expect(message.attachments[0]).toMatchObject({ sha256: sha, size: MB * 1024 * 1024 });
    expect(sent.peakMb).toBeLessThan(RSS_LIMIT_MB);

    const out = join(bus.root, "out.bin");
    const got = await measured(bus, ["attachment", message.id, "big.bin", "-o", out]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.peakMb).toBeLessThan(RSS_LIMIT_MB);
    expect(await hashOf(out)).toBe(sha);

    // The same bytes as content from stdin: spilled into content.txt as they stream (dedup: one blob).
    const piped = await measured(bus, ["send", "big", "command", "-", "--json"], file);
    expect(piped.code, piped.stderr).toBe(0);
    const spilled = parseJson<{ id: string; attachments: { name: string; sha256: string }[] }>(piped.stdout);
    expect(spilled.attachments).toEqual([expect.objectContaining({ name: "content.txt", sha256: sha })]);
    expect(piped.peakMb).toBeLessThan(RSS_LIMIT_MB);
  }, 600_000);
});

describe.skipIf(!natsAvailable())("attachments stream over NATS (Object Store)", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it(`a ${MB} MiB attachment is uploaded and downloaded (on another home) in bounded memory`, async () => {
    const sender = makeBus({ ABQ_URL: server.url });
    const receiver = makeBus({ ABQ_URL: server.url });
    sender.env["ABQ_URL"] = receiver.env["ABQ_URL"] = server.url;
    expect((await sender.abq(["channel", "create", "big"])).code).toBe(0);
    const file = join(sender.root, "big.bin");
    const sha = bigFile(file, MB);
    const sent = await measured(sender, ["send", "big", "command", "here", "--attach", file, "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.peakMb).toBeLessThan(RSS_LIMIT_MB);
    const { id } = parseJson<{ id: string }>(sent.stdout);
    const out = join(receiver.root, "out.bin");
    const got = await measured(receiver, ["attachment", id, "big.bin", "-o", out]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.peakMb).toBeLessThan(RSS_LIMIT_MB);
    expect(await hashOf(out)).toBe(sha);
  }, 600_000);
});
