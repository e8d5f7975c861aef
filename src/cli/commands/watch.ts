import { type Command, Option } from "commander";
import type { WatchEvent } from "../../watch/watcher.ts";
import { withExamples } from "../help.ts";
import { preferSmallHeap } from "../memory.ts";
import { commonOptions, escapeControls, oneLine, printJson } from "../output.ts";
import { whileHandlingSignals } from "../signals.ts";
import { skippedLine } from "../views.ts";
import { parseJobs, parsePollMs, parseTimeout } from "./parse.ts";

interface WatchFlags {
  handler: string;
  as?: string;
  jobs?: number;
  poll?: number;
  timeout?: number;
  grace?: number;
  once?: boolean;
  json?: boolean;
}

export function registerWatch(program: Command): void {
  const watch = program
    .command("watch <channel>")
    .description("run a handler for every message as it arrives (Ctrl-C stops gracefully, twice at once)")
    .requiredOption(
      "-H, --handler <command>",
      "program or command line; gets the message file as $1, its JSON on stdin",
    )
    .option("--as <subscriber>", "handle a topic subscriber's copies")
    .addOption(new Option("-j, --jobs <n>", "handlers running at once (default 1)").argParser(parseJobs))
    .addOption(
      new Option(
        "-p, --poll <ms>",
        "rescan every <ms> milliseconds (or a duration: 500ms, 2s) instead of using file events",
      ).argParser(parsePollMs),
    )
    .addOption(
      new Option(
        "-t, --timeout <duration>",
        "kill a handler (and its children) after this long, e.g. 90s, 10m (default: no limit)",
      ).argParser(parseTimeout),
    )
    .addOption(
      new Option("--grace <duration>", "time running handlers get after Ctrl-C, e.g. 30s (default 10s)").argParser(
        parseTimeout,
      ),
    )
    .option("--once", "handle what is waiting, then exit (for cron)")
    .option("--json", "NDJSON events on stdout instead of log lines on stderr")
    .action(async (channel: string, opts: WatchFlags, cmd: Command) => {
      preferSmallHeap();
      const { createWatcher } = await import("../../index.ts");
      const watcher = await createWatcher({
        ...commonOptions(cmd),
        channel,
        handler: opts.handler,
        as: opts.as,
        concurrency: opts.jobs,
        pollMs: opts.poll,
        timeout: opts.timeout,
        grace: opts.grace,
        once: opts.once ?? false,
        onEvent: opts.json ? (e) => printJson({ ...e, at: new Date().toISOString() }) : logger(channel),
      });
      // First signal: graceful stop. Second: kill handlers now. Listeners are removed when we return.
      await whileHandlingSignals(
        (count) => (count === 1 ? watcher.stop() : watcher.kill()),
        () => watcher.run(),
      );
    });
  withExamples(
    watch,
    'abq watch reviews --handler "$(abq handlers --path)/echo.sh"',
    'abq watch reviews --handler "node review.mjs" -j 4 --timeout 10m',
    "abq watch reviews --handler ./review.sh --once",
  );
}

/**
 * One line per event on stderr: `<time> <id> <type> <from> <status> <ms>ms`. It keeps the skipped counts,
 * so the closing line says how many messages expired or were rejected along the way.
 */
function logger(channel: string): (e: WatchEvent) => void {
  const seen: Seen = { channel, expired: 0, rejected: 0 };
  return (e) => process.stderr.write(`${new Date().toISOString()} ${logLine(e, seen)}\n`);
}

/** What the log has seen so far: the channel as resolved (`@self` → the inbox) and the skipped totals. */
interface Seen {
  channel: string;
  expired: number;
  rejected: number;
}

function logLine(e: WatchEvent, seen: Seen): string {
  let line = "";
  switch (e.type) {
    case "started":
      seen.channel = e.channel;
      line = `watching ${e.channel}${e.subscriber !== undefined ? ` as ${e.subscriber}` : ""} (${e.mode}, ${e.concurrency} at a time)`;
      break;
    case "handled":
      line = `${e.id} ${e.msg_type} ${escapeControls(e.from)} ${e.status} ${e.ms}ms${e.error !== undefined ? ` ${oneLine(e.error, 120)}` : ""}`;
      break;
    case "released":
      line = `${e.id} put back: ${e.reason}`;
      break;
    case "skipped":
      seen.expired += e.expired.length;
      seen.rejected += e.rejected.length;
      line = skippedLine(seen.channel, e.expired.length, e.rejected.length);
      break;
    case "warning":
      line = `warning: ${e.message}`;
      break;
    case "stopped":
      line = `stopped after ${e.handled} message(s)`;
      if (seen.expired + seen.rejected > 0) line += `; ${skippedLine(seen.channel, seen.expired, seen.rejected)}`;
      break;
  }
  return line;
}
