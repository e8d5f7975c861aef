/**
 * Printing. With `--json` stdout carries one JSON document (or NDJSON for lists) and nothing else;
 * human text goes to stdout too, and diagnostics to stderr.
 */
import { writeSync } from "node:fs";
import type { Command } from "commander";
import { errnoCode } from "../protocol/errors.ts";
import type { CommonOptions } from "../api/options.ts";

export function printJson(value: unknown): void {
  writeOut(1, `${JSON.stringify(value)}\n`);
}

export function printNdjson(values: unknown[]): void {
  writeOut(1, values.map((v) => `${JSON.stringify(v)}\n`).join(""));
}

export function printText(text: string): void {
  writeOut(1, text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Writes to stdout (1) or stderr (2) with write(2) directly. The first use of `process.stdout` builds a
 * stream for the file, pipe or terminal behind it, about 2 ms of a CLI call; a command that prints one
 * result needs none of that. A non-blocking pipe that is full (EAGAIN) gets the rest through the stream,
 * which waits for it to drain.
 */
export function writeOut(fd: 1 | 2, text: string): void {
  if (gone.has(fd)) return;
  const bytes = Buffer.from(text, "utf8");
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch (err) {
    const code = errnoCode(err);
    // The reader left (`abq ls --json | head -1`): like any Unix filter, stop writing, quietly.
    if (code === "EPIPE") gone.add(fd);
    else if (code === "EAGAIN") streamFor(fd).write(bytes.subarray(done));
    else throw err;
  }
}

/** The stream for a full pipe; a reader that leaves while it drains ends the output quietly, as above. */
function streamFor(fd: 1 | 2): NodeJS.WriteStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (stream.listenerCount("error") === 0) {
    stream.on("error", (err) => {
      if (errnoCode(err) !== "EPIPE") throw err;
      gone.add(fd);
    });
  }
  return stream;
}

const gone = new Set<number>();

/** True once the reader of `fd` has left (EPIPE): a long-running command (`tail`) stops then. */
export function readerLeft(fd: 1 | 2): boolean {
  return gone.has(fd);
}

/** Options shared by every command (`--home`), from the command's and the program's flags. */
export function commonOptions(cmd: Command): CommonOptions {
  const opts = cmd.optsWithGlobals<{ home?: string; url?: string }>();
  return {
    ...(opts.home !== undefined ? { home: opts.home } : {}),
    ...(opts.url !== undefined ? { url: opts.url } : {}),
  };
}

/** "3s", "4m", "2h", "5d": a compact age for tables. */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "-";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Left-aligned columns, two spaces apart; colour codes (color.ts) take no room. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visibleLength(cell))))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Length on screen: without SGR colour codes (content is escaped, so any ESC here is one of ours). */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex -- matching the escape character is the point
  return text.includes("\u001b") ? text.replace(/\u001b\[[0-9;]*m/g, "").length : text.length;
}

/** First line of a text, with control characters escaped, cut to `max` characters. */
export function oneLine(text: string, max = 60): string {
  // JSON escapes C0 controls and newlines; escapeControls adds C1 controls and bidi overrides, which it does not.
  const first = escapeControls(JSON.stringify(text).slice(1, -1));
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/**
 * Message text for a terminal: control characters (escape sequences could recolour, retitle or rewrite the
 * screen) and bidirectional overrides become visible escapes; newlines and tabs stay, so text reads as sent.
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) =>
    c === "\r" ? "\\r" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** 600000 → "10m", 90000 → "90s", 2000 → "2s", 500 → "0.5s": exact, in the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}
