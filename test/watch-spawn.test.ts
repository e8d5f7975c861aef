/**
 * The handler process runner (src/watch/spawn.ts), which replaced execa: what a handler gets and what is
 * read back, with real processes. The end-to-end contract is in watch.test.ts and handlers-tail.test.ts.
 */
import { describe, expect, it } from "vitest";
import { startProcess } from "../src/watch/spawn.ts";

const sh = (script: string, input = "", env: Record<string, string | undefined> = {}) =>
  startProcess("/bin/sh", ["-c", script, "handler"], { input, env, maxBuffer: 1024 * 1024 });

describe("startProcess", () => {
  it("feeds stdin, reads stdout and stderr with one final newline removed, and the exit code", async () => {
    const r = await sh(`cat; printf 'a\\n\\n'; printf 'err\\r\\n' >&2; exit 3`, "in:").done;
    expect(r).toMatchObject({ exitCode: 3, signal: undefined, stdout: "in:a\n", stderr: "err", startCode: undefined });
  });

  it("sets and unsets environment variables over the inherited ones", async () => {
    process.env["ABQ_SPAWN_TEST_INHERITED"] = "watcher's";
    try {
      const r = await sh(`printf '%s|%s|%s' "$A" "\${ABQ_SPAWN_TEST_INHERITED-unset}" "$HOME"`, "", {
        A: "1",
        ABQ_SPAWN_TEST_INHERITED: undefined,
      }).done;
      expect(r.stdout).toBe(`1|unset|${process.env["HOME"] ?? ""}`);
    } finally {
      delete process.env["ABQ_SPAWN_TEST_INHERITED"];
    }
  });

  it("a handler that never reads a large stdin is no error (EPIPE is its right)", async () => {
    const r = await sh("exit 0", "x".repeat(4 * 1024 * 1024)).done;
    expect(r).toMatchObject({ exitCode: 0, startCode: undefined });
  });

  it("decodes UTF-8 split across reads", async () => {
    const r = await sh(`printf '\\303'; sleep 0.05; printf '\\251\\n'`).done;
    expect(r.stdout).toBe("é");
  });

  it("runs in its own process group and reports a signal", async () => {
    const p = sh("sleep 30");
    expect(p.pid).toBeGreaterThan(0);
    process.kill(-(p.pid ?? 0), "SIGTERM");
    expect(await p.done).toMatchObject({ exitCode: undefined, signal: "SIGTERM" });
  });

  it("a missing program, a NUL byte in the environment and an oversized environment do not start", async () => {
    const missing = await startProcess("/nonexistent/handler", [], { input: "", env: {}, maxBuffer: 1 }).done;
    expect(missing).toMatchObject({ exitCode: undefined, signal: undefined, startCode: "ENOENT" });
    const nul = sh("true", "", { A: "a\0b" });
    expect(nul.pid).toBeUndefined();
    expect(await nul.done).toMatchObject({ startCode: "ERR_INVALID_ARG_VALUE" });
    expect((await nul.done).startMessage).toMatch(/null bytes/);
    const big = await sh("true", "", { A: "a".repeat(200 * 1024) }).done;
    expect(big).toMatchObject({ exitCode: undefined, startCode: "E2BIG" });
  });

  it("output past maxBuffer stops the process group; what fits is kept", async () => {
    const p = startProcess("/bin/sh", ["-c", "yes"], { input: "", env: {}, maxBuffer: 64 * 1024 });
    const r = await p.done;
    expect(r.signal).toBe("SIGTERM");
    expect(r.stdout.length).toBeGreaterThanOrEqual(64 * 1024 - 2);
  });

  it("cutPipes ends the wait for a background process that holds stdout", async () => {
    const p = sh("sleep 30 & exit 0");
    await p.exited;
    p.cutPipes();
    const r = await p.done;
    process.kill(-(p.pid ?? 0), "SIGKILL"); // the sleep left behind
    expect(r.exitCode).toBe(0);
  });
});
