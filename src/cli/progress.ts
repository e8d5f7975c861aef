/**
 * Progress and summaries for long operations (`send --batch`, `purge`, `requeue`, `sweep`, `channel rm`).
 * Only for a person at a terminal: when stderr is a TTY, one line on stderr is redrawn in place (at most
 * 10 times a second) while the work runs, and the one-line result at the end says how long it took.
 * Piped, or with `--json`, none of it is printed; `-q` silences it on a terminal too. What goes to stdout
 * is the same either way, except that a result line already shown on the terminal is not repeated there.
 */
import { isTerminal } from "./terminal.ts";
import { paint } from "./color.ts";
import { printText, writeOut } from "./output.ts";

export interface ProgressFlags {
  json?: boolean | undefined;
  quiet?: boolean | undefined;
}

/** Redraws at most this often. */
const EVERY_MS = 100;
/** Work done sooner than this shows no progress line at all (no flicker for quick runs). */
const SHOW_AFTER_MS = 250;

export class Progress {
  private readonly on: boolean;
  private readonly label: string;
  private readonly started = performance.now();
  private count: string | undefined;
  private drawn = false;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(label: string, flags: ProgressFlags) {
    this.on = isTerminal(2) && flags.json !== true && flags.quiet !== true;
    this.label = label;
    if (this.on) {
      // Redrawn by time as well: an operation the library reports no steps of still shows it is running.
      this.timer = setInterval(() => this.draw(), EVERY_MS);
      this.timer.unref();
    }
  }

  /** Whether a summary will be printed: on a terminal, without --json or -q. */
  get shown(): boolean {
    return this.on;
  }

  /** Seconds since the start, as the summary says it: `0.4s`, `17s`, `2m22s`. */
  get elapsed(): string {
    return formatElapsed(performance.now() - this.started);
  }

  /** The count so far, e.g. `1200/20000 sent`; drawn with the next redraw. */
  update(count: string): void {
    this.count = count;
    if (this.on && performance.now() - this.lastDraw >= EVERY_MS) this.draw();
  }

  /** Stops redrawing and clears the progress line. */
  end(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) writeOut(2, "\r\u001b[K");
    this.drawn = false;
  }

  private draw(): void {
    const now = performance.now();
    if (!this.on || now - this.started < SHOW_AFTER_MS) return;
    this.lastDraw = now;
    const text = `${this.label}${this.count !== undefined ? `: ${this.count}` : " …"} (${this.elapsed})`;
    const width = process.stderr.columns > 10 ? process.stderr.columns - 1 : 79;
    writeOut(2, `\r${paint(2, "dim", text.length > width ? `${text.slice(0, width - 1)}…` : text)}\u001b[K`);
    this.drawn = true;
  }
}

/**
 * Runs `work` with a progress line labelled `label` (cleared when it ends, also on failure, so an error
 * starts on a line of its own). Returns its result and `summary`, which prints the command's one-line
 * result: on stdout as always, and on a terminal also on stderr with `detail` and the time taken. When
 * stdout is that same terminal the line is said once, the longer way.
 */
export async function withProgress<T>(
  label: string,
  flags: ProgressFlags,
  work: (progress: Progress) => Promise<T>,
): Promise<{ result: T; summary: (text: string, detail?: string) => void }> {
  const progress = new Progress(label, flags);
  let result: T;
  try {
    result = await work(progress);
  } finally {
    progress.end();
  }
  const elapsed = progress.elapsed;
  return {
    result,
    summary: (text, detail = "") => {
      if (progress.shown) writeOut(2, `${text}${detail} (${elapsed})\n`);
      if (!progress.shown || !isTerminal(1)) printText(text);
    },
  };
}

export function formatElapsed(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
