/**
 * Starting one handler process and collecting what it writes, with node:child_process directly.
 *
 * Why not execa (used before): its per-spawn set-up cost about 1.3 ms of CPU on the path from the claim
 * to the handler's start, a third of `abq watch`'s own share of B4's latency, and loading it another
 * 30 ms on the first message. The handler contract needs only this: stdin fed (and closed), stdout and
 * stderr read as UTF-8 with one final newline removed, the exit code or signal, and why a start failed.
 */
import type { ChildProcess } from "node:child_process";
import { nodeChildProcess } from "../protocol/random.ts";

export interface ProcessResult {
  /** Undefined when killed by a signal or never started. */
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** Why it could not be started: ENOENT, EACCES, E2BIG, ERR_INVALID_ARG_VALUE (a NUL byte), … */
  startCode: string | undefined;
  startMessage: string | undefined;
}

export interface StartedProcess {
  /** The process (and, detached, its process group); undefined when it could not be started. */
  pid: number | undefined;
  /** Resolves when the process has exited and its pipes are closed (or were cut by `cutPipes`). */
  done: Promise<ProcessResult>;
  /** Resolves when the process exits (or failed to start). */
  exited: Promise<void>;
  /** Stops reading its output (background processes it left may hold the pipes open forever). */
  cutPipes: () => void;
}

export interface StartOptions {
  input: string;
  /** Added to this process's environment; `undefined` unsets a variable. */
  env: Record<string, string | undefined>;
  /** Output kept per stream; past it the process group gets SIGTERM (execa's maxBuffer did the same). */
  maxBuffer: number;
}

function failedStart(err: unknown): StartedProcess {
  const e = err as { code?: unknown; message?: unknown };
  const result: ProcessResult = {
    exitCode: undefined,
    signal: undefined,
    stdout: "",
    stderr: "",
    startCode: typeof e.code === "string" ? e.code : "ESPAWN",
    startMessage: typeof e.message === "string" ? e.message : String(err),
  };
  return { pid: undefined, done: Promise.resolve(result), exited: Promise.resolve(), cutPipes: () => undefined };
}

/** One final "\n" (or "\r\n") is not part of the output, as in `$(…)`. */
function stripFinalNewline(text: string): string {
  if (!text.endsWith("\n")) return text;
  return text.slice(0, text.endsWith("\r\n") ? -2 : -1);
}

export function startProcess(file: string, args: string[], opts: StartOptions): StartedProcess {
  let child: ChildProcess;
  try {
    // detached: its own process group, so a timeout can end the handler's children too.
    child = nodeChildProcess().spawn(file, args, {
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: "pipe",
    });
  } catch (err) {
    // Refused before any process ran: a NUL byte in the environment (Node checks), or execve's E2BIG.
    return failedStart(err);
  }
  const pid = child.pid;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sizes = [0, 0];
  const collect = (into: Buffer[], i: 0 | 1) => (chunk: Buffer) => {
    if (sizes[i]! >= opts.maxBuffer) return;
    into.push(chunk);
    sizes[i]! += chunk.length;
    if (sizes[i]! >= opts.maxBuffer && pid !== undefined) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  child.stdout?.on("data", collect(out, 0));
  child.stderr?.on("data", collect(err, 1));
  // A handler that does not read its stdin closes the pipe under us (EPIPE): that is its right.
  child.stdin?.on("error", () => undefined);
  child.stdin?.end(opts.input);
  let startError: { code: string; message: string | undefined } | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const done = new Promise<ProcessResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      const text = (chunks: Buffer[]) => stripFinalNewline(Buffer.concat(chunks).toString("utf8"));
      resolve({
        exitCode: startError === undefined && code !== null && code >= 0 ? code : undefined,
        signal: signal ?? undefined,
        stdout: text(out),
        stderr: text(err),
        startCode: startError?.code,
        startMessage: startError?.message,
      });
    };
    child.once("error", (e: { code?: string; message?: string }) => {
      if (child.pid !== undefined) return; // only a start can fail: abq neither signals through it nor uses IPC
      startError = { code: typeof e.code === "string" ? e.code : "ESPAWN", message: e.message };
      // It never ran (ENOENT, EACCES): nothing more will come on its pipes.
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish(null, null);
    });
    child.once("close", finish);
  });
  const cutPipes = (): void => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  return { pid, done, exited, cutPipes };
}
