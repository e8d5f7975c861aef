/**
 * Test fixtures: a throwaway bus per test, the built CLI as a real child process, and real git repos.
 * Nothing here mocks the filesystem, git or processes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, onTestFinished } from "vitest";

export const ROOT = resolve(import.meta.dirname, "..");
export const CLI = join(ROOT, "dist", "bin", "abq.js");
/** The built library, for child-process workers (test/fixtures/*.mjs). */
export const LIB = join(ROOT, "dist", "src", "index.js");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  timeoutMs?: number;
}

export interface Bus {
  /** Temp root: HOME of the child processes, and a place for scratch files. */
  root: string;
  /** ABQ_HOME of this bus. */
  home: string;
  env: NodeJS.ProcessEnv;
  /** Runs `abq <args>` against this bus. */
  abq(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** A fresh temp folder, removed when the current test finishes (kept when it fails, for inspection). */
export function tempDir(prefix = "abq-test-"): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  onTestFinished((ctx) => {
    if (ctx.task.result?.state !== "fail") rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function makeBus(extraEnv: NodeJS.ProcessEnv = {}): Bus {
  const root = tempDir();
  const home = join(root, "home");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ABQ_HOME: home,
    HOME: root,
    ABQ_AGENT: "test/agent",
    ...extraEnv,
  };
  delete env["ABQ_URL"];
  return {
    root,
    home,
    env,
    abq: (args, opts = {}) => runCli(args, { cwd: root, ...opts, env: { ...env, ...opts.env } }),
  };
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runNode([CLI, ...args], opts);
}

/** Runs `node <args>` as a child process and collects its output. */
export function runNode(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return startNode(args, opts).done;
}

/** Starts `node <args>`; `done` resolves with its output when it exits (it is SIGKILLed at `timeoutMs`). */
export function startNode(args: string[], opts: RunOptions = {}): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const done = new Promise<RunResult>((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  return { child, done };
}

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes (then throws). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Waits until a just-started `abq tail` is past its start-up look: it shows only what arrives after that
 * look, and a loaded machine may take seconds to get there, so a fixed sleep loses the race. Probes are
 * sent (through `sendProbe`, which returns the id it sent) until one shows up in `output()`. Returns the
 * probe ids, so a test can tell them from its own messages.
 */
export async function untilTailIsLive(
  output: () => string,
  sendProbe: (i: number) => Promise<string>,
  attempts = 20,
): Promise<string[]> {
  const probes: string[] = [];
  for (let i = 0; ; i++) {
    probes.push(await sendProbe(i));
    try {
      await until(() => probes.some((id) => output().includes(id)), 1_000);
      return probes;
    } catch (err) {
      if (i + 1 >= attempts) throw err;
    }
  }
}

/** A fixed git identity and no user or system config: git in tests behaves the same everywhere. */
export const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
} as const;

/** Runs git for real, with GIT_ENV. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...GIT_ENV } }).trim();
}

/** A real repository at `dir` on `branch`, with one commit unless `commit: false`, and an optional origin. */
export function makeRepo(dir: string, opts: { branch?: string; remote?: string; commit?: boolean } = {}): string {
  git(dir, "init", "-q", "-b", opts.branch ?? "main");
  git(dir, "config", "gc.auto", "0");
  if (opts.commit !== false) git(dir, "commit", "-q", "--allow-empty", "-m", "init");
  if (opts.remote !== undefined) git(dir, "remote", "add", "origin", opts.remote);
  return dir;
}

export function parseJson<T = Record<string, unknown>>(text: string): T {
  return JSON.parse(text) as T;
}

/** A request as `abq send --json` prints it. */
export interface SentMessage {
  id: string;
  type: string;
  content: string;
  to: string;
  ttl: number;
  reply_to?: string;
  from: { agent: string; pid: number; pwd: string };
}

/** `abq send <args> --json` (stdin from `input`), asserting it succeeded; the stored message. */
export async function sendJson(bus: Bus, args: string[], input?: string): Promise<SentMessage> {
  const r = await bus.abq(["send", ...args, "--json"], input !== undefined ? { input } : {});
  expect(r.code, r.stderr).toBe(0);
  return parseJson<SentMessage>(r.stdout);
}
