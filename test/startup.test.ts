/**
 * What the CLI does to start fast must never change what it does: the compile cache (bin/compile-cache.ts)
 * may be missing, damaged or switched off, and results written straight to a pipe (src/cli/output.ts)
 * must arrive whole however slowly the reader drains them.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, ROOT, runNode, tempDir } from "./helpers.ts";

/** A private copy of the built CLI (dist/bin), so changing its caches cannot disturb other tests. */
function copyOfCli(): { cli: string; chunks: string } {
  const dir = tempDir("abq-cli-copy-");
  cpSync(join(ROOT, "dist", "bin"), dir, { recursive: true });
  const chunks = join(dir, "chunks");
  for (const f of readdirSync(chunks)) if (f.endsWith(".cache")) rmSync(join(chunks, f));
  return { cli: join(dir, "abq.js"), chunks };
}

const cachesOf = (chunks: string, command: string): string[] =>
  readdirSync(chunks).filter((f) => f.endsWith(`.${command}.cache`));

describe("compile cache", () => {
  it("is written per command on first use, and a damaged cache is ignored and rewritten", async () => {
    const bus = makeBus();
    const { cli, chunks } = copyOfCli();
    const abq = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runNode([cli, ...args], { cwd: bus.root, env: { ...bus.env, ...env } });

    expect((await abq(["channel", "create", "c"])).code).toBe(0);
    expect(cachesOf(chunks, "send")).toEqual([]);
    const first = await abq(["send", "c", "signal", "one"]);
    expect(first.code, first.stderr).toBe(0);
    // A plain send runs from the fast path's chunk alone (src/spool/send-plain.ts)…
    expect(cachesOf(chunks, "send").some((f) => f.startsWith("fast-"))).toBe(true);
    expect(cachesOf(chunks, "send").some((f) => f.startsWith("core-"))).toBe(false);
    // …and one with a flag the fast path does not take loads the library chunk, cached under the same word.
    const full = await abq(["send", "c", "signal", "zero", "--ttl", "1h"]);
    expect(full.code, full.stderr).toBe(0);
    const written = cachesOf(chunks, "send");
    expect(written.some((f) => f.startsWith("core-"))).toBe(true);

    for (const f of written) writeFileSync(join(chunks, f), "not a V8 code cache");
    const second = await abq(["send", "c", "signal", "two", "--ttl", "1h"]); // loads both chunks
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe("");
    for (const f of written) expect(statSync(join(chunks, f)).size).toBeGreaterThan(1000);

    const third = await abq(["send", "c", "signal", "three"]);
    expect(third.code, third.stderr).toBe(0);
    const ls = await abq(["ls", "c", "--json"]);
    expect(ls.stdout.trim().split("\n")).toHaveLength(4);
  });

  it("ABQ_COMPILE_CACHE=0 neither reads nor writes caches", async () => {
    const bus = makeBus();
    const { cli, chunks } = copyOfCli();
    const r = await runNode([cli, "status"], { cwd: bus.root, env: { ...bus.env, ABQ_COMPILE_CACHE: "0" } });
    expect(r.code, r.stderr).toBe(0);
    expect(cachesOf(chunks, "status")).toEqual([]);
  });
});

describe("compile cache: where it may live", () => {
  it("a mistyped or unknown command word writes no cache anywhere", async () => {
    const bus = makeBus();
    const { cli, chunks } = copyOfCli();
    const cacheHome = tempDir("abq-xdg-");
    for (const word of ["sned", "stauts", "version"]) {
      const r = await runNode([cli, word], { cwd: bus.root, env: { ...bus.env, XDG_CACHE_HOME: cacheHome } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown command/);
    }
    expect(readdirSync(chunks).filter((f) => f.endsWith(".cache"))).toEqual([]);
    expect(readdirSync(cacheHome)).toEqual([]);
  });

  it("a chunk folder we do not own is never written: caches go to a private per-user folder", async () => {
    expect(process.getuid?.(), "this test needs root (as in CI) to hand the folder to another user").toBe(0);
    const bus = makeBus();
    const { cli, chunks } = copyOfCli();
    chownSync(chunks, 65534, 65534); // nobody: what a global install looks like to its users
    const cacheHome = tempDir("abq-xdg-");
    const r = await runNode([cli, "status"], { cwd: bus.root, env: { ...bus.env, XDG_CACHE_HOME: cacheHome } });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(chunks).filter((f) => f.endsWith(".cache"))).toEqual([]);
    expect(readdirSync(join(cacheHome, "abq")).filter((f) => f.endsWith(".status.cache")).length).toBeGreaterThan(0);
    expect(statSync(join(cacheHome, "abq")).mode & 0o777).toBe(0o700);
  });

  it("a chunk folder others can write to, or a per-user folder that is a symlink, is not used", async () => {
    const bus = makeBus();
    const { cli, chunks } = copyOfCli();
    chmodSync(chunks, 0o777);
    const cacheHome = tempDir("abq-xdg-");
    const elsewhere = tempDir("abq-planted-");
    symlinkSync(elsewhere, join(cacheHome, "abq"));
    const r = await runNode([cli, "status"], { cwd: bus.root, env: { ...bus.env, XDG_CACHE_HOME: cacheHome } });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(chunks).filter((f) => f.endsWith(".cache"))).toEqual([]);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe("output", () => {
  it("a 3 MB result arrives whole through a pipe its reader leaves full for a while", async () => {
    const bus = makeBus();
    const content = "x".repeat(3 * 1024 * 1024);
    expect((await bus.abq(["send", "big", "command", "-", "--create"], { input: content })).code).toBe(0);
    const child = spawn(process.execPath, [join(ROOT, "dist", "bin", "abq.js"), "recv", "big", "--json"], {
      cwd: bus.root,
      env: bus.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const parts: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => parts.push(d));
    // The pipe fills up; abq must wait for it (write(2) blocks, or on a non-blocking pipe EAGAIN hands the
    // rest to process.stdout), never lose or cut its output.
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 300));
    child.stdout.resume();
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code).toBe(0);
    const out = JSON.parse(Buffer.concat(parts).toString("utf8")) as { content: string };
    expect(out.content).toBe(content);
  });
  it("a reader that leaves early (`abq ls --json | head -1`) ends abq quietly with exit 0", async () => {
    const bus = makeBus();
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ type: "signal", content: `${i} ${"x".repeat(60_000)}` }),
    );
    expect((await bus.abq(["send", "many", "--batch", "--create"], { input: `${lines.join("\n")}\n` })).code).toBe(0);
    const child = spawn(process.execPath, [join(ROOT, "dist", "bin", "abq.js"), "ls", "many", "--json", "-n", "40"], {
      cwd: bus.root,
      env: bus.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy()); // like head: read a little, close the pipe
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("bundle", () => {
  it("dist/bin is CommonJS whose chunks never call import()", () => {
    expect(JSON.parse(readFileSync(join(ROOT, "dist", "bin", "package.json"), "utf8"))).toEqual({ type: "commonjs" });
    for (const f of readdirSync(join(ROOT, "dist", "bin", "chunks")).filter((n) => n.endsWith(".js"))) {
      const code = readFileSync(join(ROOT, "dist", "bin", "chunks", f), "utf8");
      expect(/(^|[^.\w])import\(/m.test(code.replace(/^\s*(\/\/|\*).*$/gm, "")), f).toBe(false);
    }
  });
});
