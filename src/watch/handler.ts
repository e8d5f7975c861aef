/**
 * Running one handler for one message — the handler contract:
 *
 * | given to the handler | what                                                                   |
 * |----------------------|------------------------------------------------------------------------|
 * | `$1`                 | path of the claimed message file (`…/processing/<id>.json`)             |
 * | stdin                | the message JSON                                                       |
 * | env                  | ABQ_CHANNEL, ABQ_MSG_ID, ABQ_MSG_TYPE, ABQ_MSG_FROM, ABQ_MSG_FILE,      |
 * |                      | ABQ_ATTEMPT, ABQ_HOME, ABQ_REPLY_TO, ABQ_SUBSCRIBER, and ABQ_MSG_CONTENT |
 * |                      | when the environment can hold the content; else ABQ_MSG_CONTENT is      |
 * |                      | unset and ABQ_MSG_CONTENT_OMITTED says why: `size` (over 32 KiB) or     |
 * |                      | `nul` (it has a NUL byte) — read the content from stdin or $1 then      |
 * |                      | ABQ_ATTACHMENTS: checked local paths of its attachments, one a line    |
 * |                      | (and `attachments[].path` on stdin; see docs/attachments.md)            |
 *
 * | handler outcome      | abq does                                                              |
 * |----------------------|------------------------------------------------------------------------|
 * | exit 0               | answer `success`, result = stdout (one final newline removed)          |
 * | exit 75 (EX_TEMPFAIL)| put the message back for another attempt                               |
 * | other exit / signal  | answer `error`, error = the tail of stderr                              |
 * | runs past --timeout  | kill its whole process group, answer `error`                            |
 * | cannot be started    | put the message back and stop the watcher (nothing is consumed)        |
 * | … because of this    | a failed attempt for this message (backoff, then dead-lettered past    |
 * |   message (E2BIG, …) | max_attempts with the reason); the watcher goes on with the next one   |
 *
 * Handlers run in their own process group, so a timeout also ends the processes the handler started.
 * A handler's exit ends its run: output written more than 0.5 s later by processes it left in the
 * background is not read (and they are not killed).
 */
import { constants } from "node:fs";
import * as fs from "../fs-promised.ts";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { AbqError } from "../protocol/errors.ts";
import type { Claimed } from "../lifecycle/transport.ts";
import { MAX_TIMER_MS } from "./lease-keeper.ts";
import { startProcess } from "./spawn.ts";

export const EX_TEMPFAIL = 75;
/** Content up to this size is also passed in ABQ_MSG_CONTENT (the seed's contract); larger is stdin/$1 only. */
export const MAX_ENV_CONTENT = 32 * 1024;
/** Why ABQ_MSG_CONTENT is unset: an environment variable cannot hold a NUL byte, nor (usefully) megabytes. */
export type ContentOmitted = "nul" | "size";
/**
 * Spawn errors caused by what this message puts into argv/env (E2BIG: too big for execve; NUL byte: Node
 * refuses the env), not by the handler program: every other message still runs, so they are a failed
 * attempt for this message, never a reason to stop the watcher.
 */
const MESSAGE_SPAWN_ERRORS = new Set(["E2BIG", "ERR_INVALID_ARG_VALUE"]);
const STDERR_TAIL = 4000;
const KILL_GRACE_MS = 2000;
/** How long output may keep flowing after the handler exits (from processes it left behind). */
const PIPE_DRAIN_MS = 500;

export interface HandlerSpec {
  /** Program to run. */
  file: string;
  /** Arguments before the message path. */
  args: string[];
  /** As the user wrote it. */
  display: string;
  /** Run through /bin/sh because the user gave a command line, not a program path. */
  shell: boolean;
}

/** A program path runs directly; a command line (spaces, quotes, pipes) runs through /bin/sh with `$1` set. */
export function parseHandler(command: string, cwd: string): HandlerSpec {
  const trimmed = command.trim();
  if (trimmed === "") throw new AbqError("E_USAGE", "the handler command is empty");
  if (/[\s'"$;&|<>`()]/.test(trimmed)) {
    return { file: "/bin/sh", args: ["-c", `${trimmed} "$@"`, "abq-handler"], display: trimmed, shell: true };
  }
  const file = trimmed.includes("/") && !isAbsolute(trimmed) ? resolve(cwd, trimmed) : trimmed;
  return { file, args: [], display: trimmed, shell: false };
}

/** Fails fast (E_USAGE) when the handler's program is missing or not executable. */
export async function checkHandler(spec: HandlerSpec): Promise<void> {
  const program = spec.shell ? firstWord(spec.display) : spec.file;
  if (program === undefined || /[$`(]/.test(program)) return; // too dynamic to check; the run will tell
  if (await findExecutable(program)) return;
  throw new AbqError("E_USAGE", `handler '${program}' was not found or is not executable`, {
    hint: program.includes("/") ? `check the path, and chmod +x ${program}` : "check that it is on PATH",
  });
}

function firstWord(commandLine: string): string | undefined {
  const word = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*([^\s;&|<>]+)/.exec(commandLine)?.[1];
  return word?.replace(/^['"]|['"]$/g, "");
}

const SHELL_BUILTINS = new Set(["exec", "echo", "printf", "cat", "true", "false", "test", "[", ".", "exit", "cd"]);

async function findExecutable(program: string): Promise<boolean> {
  const executable = (p: string) =>
    fs.access(p, constants.X_OK).then(
      () => fs.stat(p).then((s) => s.isFile()),
      () => false,
    );
  if (program.includes("/")) return executable(program);
  if (SHELL_BUILTINS.has(program)) return true;
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "" && (await executable(join(dir, program)))) return true;
  }
  return false;
}

export interface HandlerRun {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderrTail: string;
  timedOut: boolean;
  /** Set when the program could not be started at all. */
  startError: string | undefined;
  /** The start failed because of this message (see MESSAGE_SPAWN_ERRORS), not because of the handler. */
  startErrorIsMessage: boolean;
  ms: number;
}

export interface RunOptions {
  timeoutMs: number | undefined;
  /** `undefined` unsets a variable the watcher itself inherited (a watcher run from inside a handler). */
  env: Record<string, string | undefined>;
  /** Aborting kills the handler's process group at once (a second Ctrl-C). */
  signal?: AbortSignal | undefined;
  /** Told the handler's pid (= its process group) once it runs. */
  onStart?: ((pid: number) => void) | undefined;
}

export function contentOmitted(content: string, spilled = false): ContentOmitted | undefined {
  if (spilled) return "size"; // the content is a note; the real one is on stdin and in ABQ_ATTACHMENTS
  if (content.includes("\0")) return "nul";
  return Buffer.byteLength(content) > MAX_ENV_CONTENT ? "size" : undefined;
}

export function handlerEnv(claimed: Claimed, home: string): Record<string, string | undefined> {
  const m = claimed.message;
  const attempts = typeof m["attempts"] === "number" ? m["attempts"] : 0;
  const omitted = contentOmitted(m.content, JSON.stringify(m["attachments"] ?? null).includes('"spilled":"content"'));
  // Every per-message variable is set or explicitly unset: the handler inherits the watcher's environment,
  // and a watcher started from inside another handler must not pass on that message's values.
  return {
    ABQ_HOME: home,
    ABQ_CHANNEL: claimed.channel,
    ABQ_MSG_ID: m.id,
    ABQ_MSG_TYPE: m.type,
    ABQ_MSG_FROM: m.from.agent,
    ABQ_MSG_FILE: claimed.path,
    ABQ_ATTEMPT: String(attempts + 1),
    ABQ_REPLY_TO: m.reply_to,
    ABQ_SUBSCRIBER: claimed.subscriber,
    ABQ_MSG_CONTENT: omitted === undefined ? m.content : undefined,
    ABQ_MSG_CONTENT_OMITTED: omitted,
    ABQ_ATTACHMENTS: undefined, // set by runHandler once the files are checked
  };
}

export async function runHandler(spec: HandlerSpec, claimed: Claimed, opts: RunOptions): Promise<HandlerRun> {
  const started = performance.now();
  let input = JSON.stringify(claimed.message);
  let env = opts.env;
  if (Array.isArray((claimed.message as { attachments?: unknown }).attachments)) {
    const { handlerInput } = await import("../attach/handler-input.ts");
    const got = await handlerInput(claimed.message, env);
    // A missing or corrupt attachment: this message cannot run (a failed attempt), the others can.
    if ("failed" in got) return { ...got.failed, ms: Math.round(performance.now() - started) };
    ({ input, env } = got);
  }
  const child = startProcess(spec.file, [...spec.args, claimed.path], {
    input,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.pid !== undefined) opts.onStart?.(child.pid);
  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  const escalate = (): void => {
    killGroup("SIGTERM");
    hardKill = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
  };
  let hardKill: NodeJS.Timeout | undefined;
  const timer =
    opts.timeoutMs !== undefined && child.pid !== undefined
      ? setTimeout(
          () => {
            timedOut = true;
            escalate();
          },
          Math.min(opts.timeoutMs, MAX_TIMER_MS),
        )
      : undefined;
  const onAbort = (): void => killGroup("SIGKILL");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  // A handler that exits but leaves a background process holding its stdout would keep us waiting for
  // the pipe to close. Its exit status is what counts: stop reading shortly after it exits.
  let drained: NodeJS.Timeout | undefined;
  void child.exited.then(() => {
    drained = setTimeout(child.cutPipes, PIPE_DRAIN_MS);
  });
  const result = await child.done;
  clearTimeout(drained);
  clearTimeout(timer);
  clearTimeout(hardKill);
  opts.signal?.removeEventListener("abort", onAbort);
  if (timedOut) killGroup("SIGKILL"); // children that ignored SIGTERM must not outlive a timed-out handler

  const code = result.startCode;
  const notStarted =
    (result.exitCode === undefined && result.signal === undefined) ||
    code === "ENOENT" ||
    code === "EACCES" ||
    (spec.shell && (result.exitCode === 126 || result.exitCode === 127));
  const { stderr, startMessage } = result;
  const byMessage = notStarted && !timedOut && code !== undefined && MESSAGE_SPAWN_ERRORS.has(code);
  let startError: string | undefined;
  if (byMessage) startError = spawnReason(code ?? "", startMessage ?? "");
  else if (notStarted && !timedOut) startError = stderr.trim() || startMessage || "cannot start handler";
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderrTail: stderr.length > STDERR_TAIL ? `…${stderr.slice(-STDERR_TAIL)}` : stderr,
    timedOut,
    startError,
    startErrorIsMessage: byMessage,
    ms: Math.round(performance.now() - started),
  };
}

/** One line for a dead letter's reason: Node's message may quote a huge value. */
function spawnReason(code: string, shortMessage: string): string {
  const detail = shortMessage.split("\n").at(-1)?.trim() ?? "";
  const line =
    code === "E2BIG" ? "E2BIG: the message is too large for the handler's arguments and environment" : detail || code;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
