/**
 * The README's 60-second tour runs as written, and `npm run demo` builds only when it has to.
 *
 * The tour: the `sh` block after `<!-- tour -->` is taken from README.md literally and run line by line
 * in one `bash -e -u -o pipefail`, in a fresh folder holding a copy of handlers/ (as in a clone), with a
 * fresh HOME (so the default bus, ~/.abq, is new) and the built CLI on PATH as `abq` (what `npm link`
 * gives). Each line's output is checked against the table below, in order; a tour line without an
 * expectation (or an expectation without its line) fails the test, so the two change together.
 * Background jobs the tour leaves behind are killed at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI, ROOT, tempDir } from "./helpers.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The tour block's commands: one per line (a trailing `\` joins lines), comments and blank lines left out. */
function tourSteps(markdown: string): string[] {
  const m = /<!--\s*tour\s*-->\s*\n(?:\s*\n)*```(?:sh|bash)\n([^]*?)\n```/.exec(markdown);
  if (!m) throw new Error("README.md has no block marked <!-- tour -->");
  return (m[1] ?? "")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
}

const ID = "req_[0-9a-f]{32}";

/** Each tour line (matched by `command`) and what its stdout must say (`out`: all must match; "" = silent). */
const EXPECTED: { command: RegExp; out: (RegExp | "")[] }[] = [
  { command: /^abq init\b/, out: [/^Initialized: \S+\/\.abq$/m] },
  { command: /^abq channel create jobs\b/, out: [/^Created channel: jobs$/m] },
  { command: /^id=\$\(abq send jobs command "hello" \| cut -d' ' -f2\)/, out: [""] },
  { command: /^abq recv jobs\b/, out: [new RegExp(`^ID: ${ID}$`, "m"), /^Content: hello$/m, /^Lease: /m] },
  { command: /^abq respond jobs "\$id" --result "hi, A"/, out: [new RegExp(`^Responded: ${ID} \\(success\\)$`, "m")] },
  { command: /^abq show "\$id"/, out: [/^State: done$/m, /^Content: hello$/m, /^Result: hi, A$/m] },
  { command: /^abq watch jobs --handler handlers\/echo\.sh &/, out: [""] },
  { command: /^abq ask jobs command "ping"/, out: [/^ping\n$/] },
  { command: /^kill \$!/, out: [""] },
  { command: /^id=\$\(abq send jobs command '\{"pr": 42\}' \| cut -d' ' -f2\)/, out: [""] },
  { command: /^abq watch jobs --handler handlers\/node-handler\.mjs --once/, out: [""] },
  {
    command: /^abq show "\$id"/,
    out: [/^State: done$/m, /^Result: \{"handled":"req_[0-9a-f]+".*"payload":\{"pr":42\}\}$/m],
  },
  { command: /^abq status\b/, out: [/^Agent: local\//m, /^jobs\s+0\s+0\s+0\s+2\s+3\s+0\s/m] },
  { command: /^ls ~\/\.abq\/channels\/jobs\/archive\b/, out: [new RegExp(`^${ID}_request\\.json$`, "m")] },
];

interface Run {
  code: number | null;
  /** stdout of each step, by index. */
  outs: string[];
  /** How many steps started. */
  started: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `steps` in order in one bash, with a marker line on stdout before each; kills what is left after. */
function runSteps(steps: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const script = [
    "trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT",
    ...steps.flatMap((step, i) => [`echo "@@step ${i}"`, step]),
    'echo "@@end"',
  ].join("\n");
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-u", "-o", "pipefail", "-c", script], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a watcher the tour leaves behind can be killed with it
    });
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(killGroup, 25_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      killGroup();
      const parts = stdout.split(/^@@(?:step \d+|end)\n/m).slice(1);
      const started = (stdout.match(/^@@step \d+$/gm) ?? []).length;
      resolve({ code, outs: parts.slice(0, started), started, stdout, stderr, ms: Date.now() - start });
    });
  });
}

/** A fresh folder like a clone (handlers/ in it), a fresh HOME, and `abq` on PATH running the built CLI. */
function freshClone(): { cwd: string; env: NodeJS.ProcessEnv; home: string } {
  const root = tempDir("abq-tour-");
  const bin = join(root, "bin");
  const cwd = join(root, "clone");
  const home = join(root, "home");
  mkdirSync(bin);
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(cwd);
  cpSync(join(ROOT, "handlers"), join(cwd, "handlers"), { recursive: true });
  writeFileSync(join(bin, "abq"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, "abq"), 0o755);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    HOME: home,
  };
  for (const name of ["ABQ_HOME", "ABQ_AGENT", "ABQ_URL", "ABQ_PARENT", "ABQ_CRASH_AT"]) delete env[name];
  return { cwd, env, home };
}

describe("README tour", () => {
  const steps = tourSteps(README);

  it("is marked, runs no npm (installing is the block before it), and every line has an expectation", () => {
    expect(steps.length).toBeGreaterThanOrEqual(8);
    expect(steps.filter((s) => /\bnpm\b/.test(s))).toEqual([]);
    expect(README).toMatch(/```sh\nnpm link\b[^\n]*\n```[^]*<!-- tour -->/);
    expect(steps.map((s, i) => EXPECTED[i]?.command.test(s) ?? false)).toEqual(steps.map(() => true));
    expect(steps.length).toBe(EXPECTED.length);
  });

  it("runs literally, in order, on a fresh bus: every line exits 0 and prints what it should", async () => {
    const { cwd, env, home } = freshClone();
    const r = await runSteps(steps, cwd, env);
    const where = `stopped in step ${r.started - 1}: ${steps[r.started - 1]}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    expect(r.code, where).toBe(0);
    expect(r.started).toBe(steps.length);
    expect(r.ms).toBeLessThan(30_000);
    steps.forEach((step, i) => {
      const out = r.outs[i] ?? "";
      for (const want of EXPECTED[i]!.out) {
        if (want === "") expect(out, `step ${i}: ${step}`).toBe("");
        else expect(out, `step ${i}: ${step}`).toMatch(want);
      }
    });
    // Both workers answered on stderr's log, one line per message, and the bus is where the tour said.
    expect(r.stderr.match(/ success \d+ms$/gm)?.length, r.stderr).toBe(2);
    expect(existsSync(join(home, ".abq", "channels", "jobs"))).toBe(true);

    // What the prose after the tour says: the channel can be removed again.
    const rm = spawnSync("abq", ["channel", "rm", "jobs"], { cwd, env, encoding: "utf8" });
    expect(rm.status, rm.stderr).toBe(0);
    expect(existsSync(join(home, ".abq", "channels", "jobs"))).toBe(false);
  });
});

describe("npm run demo", () => {
  /**
   * A copy of the project's shape in a temp folder: scripts/demo.mjs, the real dist/bin (with
   * node_modules linked), and stand-ins for the sources whose build script only leaves a mark, so the
   * test can see whether the demo built, without building anything.
   */
  function project(): string {
    const dir = tempDir("abq-demo-test-");
    for (const sub of ["scripts", "src", "bin", "dist"]) mkdirSync(join(dir, sub));
    cpSync(join(ROOT, "scripts", "demo.mjs"), join(dir, "scripts", "demo.mjs"));
    writeFileSync(join(dir, "scripts", "bundle.mjs"), "");
    writeFileSync(join(dir, "src", "index.ts"), "");
    writeFileSync(join(dir, "bin", "abq.ts"), "");
    writeFileSync(join(dir, "tsconfig.build.json"), "{}");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({
        name: "demo-test",
        private: true,
        scripts: { build: "node -e \"require('fs').writeFileSync('built', '')\"" },
      }),
    );
    cpSync(join(ROOT, "dist", "bin"), join(dir, "dist", "bin"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const past = new Date(Date.now() - 3_600_000);
    for (const f of [
      "scripts/bundle.mjs",
      "src/index.ts",
      "src",
      "bin/abq.ts",
      "bin",
      "package.json",
      "tsconfig.build.json",
    ])
      utimesSync(join(dir, f), past, past);
    return dir;
  }

  function demo(dir: string): { status: number | null; stdout: string; stderr: string; bus: string } {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    for (const name of ["ABQ_HOME", "ABQ_AGENT", "ABQ_URL"]) delete env[name];
    const r = spawnSync(process.execPath, [join(dir, "scripts", "demo.mjs")], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    const bus = /^ {2}rm -rf (\S+)$/m.exec(r.stdout)?.[1] ?? "";
    if (bus !== "") onTestFinished(() => rmSync(bus, { recursive: true, force: true }));
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, bus };
  }

  it("does not build when dist/ is current, keeps the bus, and says how to explore and remove it", () => {
    const dir = project();
    const r = demo(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, "built"))).toBe(false);
    expect(r.stdout).not.toMatch(/newer than the build|not built yet/);
    expect(r.stdout).toMatch(/^abq demo: a fresh bus in (\S+)\/home$/m);
    expect(r.stdout).toMatch(/^\$ .*abq ask reviews command 'please review PR 43'/m);
    expect(r.stdout).toMatch(/^ {2}reviewed: please review PR 43$/m);
    // Left in place, in a temp folder, with the commands to look at it and to remove it.
    expect(r.bus.startsWith(tmpdir())).toBe(true);
    expect(existsSync(join(r.bus, "home", "channels", "reviews", "archive"))).toBe(true);
    expect(r.stdout).toContain(`ABQ_HOME=${join(r.bus, "home")} abq status`);
    expect(r.stdout).toContain(`ls ${join(r.bus, "home", "channels", "reviews", "archive")}`);
  });

  it("builds first when a source is newer than dist/bin/abq.js, or dist/ is missing", () => {
    const dir = project();
    writeFileSync(join(dir, "src", "index.ts"), "// changed\n");
    const later = new Date(Date.now() + 60_000); // file times are coarse: a write right after the copy may tie
    utimesSync(join(dir, "src", "index.ts"), later, later);
    const r = demo(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^newer than the build: src$/m);
    expect(existsSync(join(dir, "built"))).toBe(true);

    rmSync(join(dir, "built"));
    rmSync(join(dir, "dist", "bin", "abq.js"));
    const missing = demo(dir);
    expect(missing.stdout).toMatch(/^abq is not built yet: npm run build$/m);
    expect(existsSync(join(dir, "built"))).toBe(true);
    // The stand-in build writes no CLI: the demo says so and stops before making a bus.
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/the build did not write \S+\/dist\/bin\/abq\.js/);
    expect(missing.stdout).not.toMatch(/abq demo:/);
  });
});
