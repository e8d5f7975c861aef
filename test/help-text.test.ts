/**
 * The stored help (bin/help-text.ts, scripts/help-texts.mjs): `abq --help` and `abq <command> --help` into
 * a pipe print a file the build wrote instead of running commander. Every stored text, in every shape that
 * reads it, must be what commander prints for the same words (ABQ_FAST_PATH=0), with the same exit code;
 * a terminal, forced colour, or a build without the texts must get commander's own help.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, ROOT, runNode, tempDir } from "./helpers.ts";

const HELP = join(ROOT, "dist", "bin", "help");
const WORDS = readdirSync(HELP)
  .filter((f) => f.endsWith(".txt"))
  .map((f) => f.slice(0, -4));

/** Commands also asked with `-h` (the same file; a handful shows the shape works). */
const SHORT = new Set(["send", "recv", "status", "kv", "doctor"]);

describe("stored help", () => {
  it("stores a text for the top level and every command the top-level help lists", () => {
    expect(WORDS).toContain("abq");
    for (const word of ["send", "recv", "status", "check", "doctor", "kv", "channel"]) expect(WORDS).toContain(word);
    expect(WORDS).not.toContain("help"); // `abq help help` is a usage error, left to commander
  });

  it("prints what commander prints, for every stored text and every shape that asks for it", async () => {
    const bus = makeBus();
    const shapes = (word: string): string[][] => {
      if (word === "abq") return [["--help"], ["-h"], ["help"]];
      return SHORT.has(word)
        ? [
            [word, "--help"],
            [word, "-h"],
          ]
        : [[word, "--help"]];
    };
    const asked = WORDS.flatMap(shapes);
    expect(asked.length).toBeGreaterThan(45);
    // In slices of 8 pairs: two processes per shape, 2 cores.
    for (let i = 0; i < asked.length; i += 8) {
      await Promise.all(
        asked.slice(i, i + 8).map(async (args) => {
          const [stored, commander] = await Promise.all([
            bus.abq(args),
            bus.abq(args, { env: { ABQ_FAST_PATH: "0" } }),
          ]);
          expect({ args, ...stored }).toEqual({ args, ...commander });
          expect(stored.code).toBe(0);
        }),
      );
    }
  });

  it("is what answers: --help and <command> --help load none of the bundle's chunks", async () => {
    const bus = makeBus();
    const preload = join(bus.root, "modules.cjs");
    writeFileSync(
      preload,
      `process.on("exit", () => require("fs").writeFileSync(process.env.MODULES_OUT,
         Object.keys(require.cache).map((f) => require("path").basename(f)).join("\\n")));`,
    );
    const loaded = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> => {
      const out = join(bus.root, "modules.txt");
      const r = await runNode(["-r", preload, CLI, ...args], { env: { ...bus.env, ...env, MODULES_OUT: out } });
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(out, "utf8").split("\n");
    };
    // The entry's own runtime helper aside, no chunk: not the command line, the fast path, the core or zod.
    const chunks = (names: string[]): string[] => names.filter((n) => /^(cli|fast|core|zod)-.*\.js$/.test(n));
    expect(chunks(await loaded(["--help"]))).toEqual([]);
    expect(chunks(await loaded(["send", "--help"]))).toEqual([]);
    // The full command line, for comparison, loads the command line's chunk.
    expect(chunks(await loaded(["send", "--help"], { ABQ_FAST_PATH: "0" })).some((n) => n.startsWith("cli-"))).toBe(
      true,
    );
  });

  it("leaves unknown words, longer shapes and forced colour to commander", async () => {
    const bus = makeBus();
    for (const args of [
      ["nosuch", "--help"],
      ["--home", bus.home, "--help"],
      ["kv", "set", "--help"],
    ]) {
      const [fast, slow] = await Promise.all([bus.abq(args), bus.abq(args, { env: { ABQ_FAST_PATH: "0" } })]);
      expect(fast).toEqual(slow);
    }
    const forced = await bus.abq(["--help"], { env: { FORCE_COLOR: "1" } });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("Usage: abq");
  });

  it("ends quietly with exit 0 when the reader leaves after one line", () => {
    const bus = makeBus();
    // Enough reads of a closed pipe for the writer to meet EPIPE at least once.
    const out = execFileSync(
      "bash",
      ["-c", `for i in 1 2 3; do node "${CLI}" --help 2>>"$E" | head -c 5 >/dev/null; echo "\${PIPESTATUS[0]}"; done`],
      { env: { ...bus.env, E: join(bus.root, "stderr") }, encoding: "utf8" },
    );
    expect(out.trim().split("\n")).toEqual(["0", "0", "0"]);
    expect(execFileSync("cat", [join(bus.root, "stderr")], { encoding: "utf8" })).toBe("");
  });

  it("on a terminal, lets commander wrap to its width (the stored text is for pipes)", () => {
    const bus = makeBus();
    // A real pseudo-terminal 60 columns wide: commander wraps the descriptions, the stored text does not.
    const out = execFileSync("script", ["-qec", `stty cols 60; node "${CLI}" status --help`, "/dev/null"], {
      env: { ...bus.env, TERM: "dumb" },
      encoding: "utf8",
    }).replace(/\r/g, "");
    const stored = readFileSync(join(HELP, "status.txt"), "utf8");
    expect(stored).toContain("--json      print {home, agent, channels: [{name, <one count per state>,\n");
    expect(out).toContain("Usage: abq status");
    expect(out).toContain("--json      print {home, agent, channels: [{name, <one\n");
  });

  it("falls back to commander in a build without the texts", async () => {
    const dir = tempDir();
    cpSync(join(ROOT, "dist", "bin"), join(dir, "bin"), { recursive: true });
    rmSync(join(dir, "bin", "help"), { recursive: true });
    expect(existsSync(join(dir, "bin", "help"))).toBe(false);
    const bus = makeBus();
    const [copy, built] = await Promise.all([
      runNode([join(dir, "bin", "abq.js"), "send", "--help"], { env: bus.env }),
      bus.abq(["send", "--help"]),
    ]);
    expect(copy).toEqual(built);
    expect(copy.stdout).toContain("Usage: abq send");
  });
});
