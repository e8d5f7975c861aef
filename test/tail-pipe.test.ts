/**
 * `abq tail c | head -1` ends: once its reader is gone (the next write fails with EPIPE), tail stops
 * following, quietly, with exit 0, instead of running on forever behind a closed pipe.
 */
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, until } from "./helpers.ts";

describe("abq tail behind a reader that leaves", () => {
  it("tail | head -1 ends once the next event finds the pipe closed", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const shell = spawn("sh", ["-c", `"${process.execPath}" "${CLI}" tail c; echo "tail exit $?" >&2`], {
      env: bus.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a failing run leaves no tail behind (see finally)
    });
    let out = "";
    let err = "";
    shell.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    shell.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    try {
      // Be `head -1`: read one line, then close our end of the pipe.
      await new Promise((r) => setTimeout(r, 800)); // tail is following
      await bus.abq(["send", "c", "signal", "first"]);
      await until(() => out.includes("\n"), 10_000);
      shell.stdout.destroy();
      const closed = new Promise<number | null>((res) => shell.on("close", res));
      await bus.abq(["send", "c", "signal", "second"]); // its line meets the closed pipe
      await until(() => /tail exit \d+/.test(err), 10_000);
      expect(out).toMatch(/^→ req_[0-9a-f]+ signal \S+ first\n/);
      expect(err).toMatch(/tail exit 0/);
      expect(err.replace(/tail exit 0\n?/, "")).toBe("");
      expect(await closed).toBe(0);
    } finally {
      try {
        process.kill(-shell.pid!, "SIGKILL");
      } catch {
        // already gone: the normal case
      }
    }
  });
});

describe("help behind a reader that leaves", () => {
  it("abq send --help | head -1 ends quietly: no EPIPE trace, exit 0", () => {
    const bus = makeBus();
    const script = `"${process.execPath}" "${CLI}" send --help | head -1; echo "abq exit \${PIPESTATUS[0]}" >&2`;
    const r = spawnSync("bash", ["-c", script], { env: bus.env, encoding: "utf8" });
    expect(r.stdout).toMatch(/^Usage: abq send /);
    expect(r.stderr).toBe("abq exit 0\n");
  });
});
