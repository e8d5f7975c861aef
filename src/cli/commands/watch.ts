import { type Command, Option } from "commander";
import type { WatchEvent } from "../../watch/watcher.ts";
import { preferSmallHeap } from "../memory.ts";
import { commonOptions, oneLine, printJson } from "../output.ts";
import { parseCount, parseSeconds } from "./parse.ts";

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
  program
    .command("watch <channel>")
    .description("run a handler for every message as it arrives (Ctrl-C stops gracefully, twice at once)")
    .requiredOption(
      "-H, --handler <command>",
      "program or command line; gets the message file as $1, its JSON on stdin",
    )
    .option("--as <subscriber>", "handle a topic subscriber's copies")
    .addOption(new Option("-j, --jobs <n>", "handlers running at once (default 1)").argParser(parseCount))
    .addOption(new Option("-p, --poll <ms>", "poll every <ms> instead of using file events").argParser(parseCount))
    .addOption(
      new Option("-t, --timeout <seconds>", "kill a handler (and its children) after this long").argParser(
        parseSeconds,
      ),
    )
    .addOption(
      new Option("--grace <seconds>", "time running handlers get after Ctrl-C (default 10)").argParser(parseSeconds),
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
        onEvent: opts.json ? (e) => printJson({ ...e, time: new Date().toISOString() }) : logLine,
      });
      // First signal: graceful stop. Second: kill handlers now. Listeners are removed when we return.
      let signals = 0;
      const onSignal = (): void => (++signals === 1 ? watcher.stop() : watcher.kill());
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      try {
        await watcher.run();
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}

/** One line per event on stderr: `<time> <id> <type> <from> <status> <ms>ms`. */
function logLine(e: WatchEvent): void {
  const time = new Date().toISOString();
  let line: string;
  switch (e.type) {
    case "started":
      line = `watching ${e.channel}${e.subscriber !== undefined ? ` as ${e.subscriber}` : ""} (${e.mode}, ${e.concurrency} at a time)`;
      break;
    case "handled":
      line = `${e.id} ${e.msgType} ${e.from} ${e.status} ${e.ms}ms${e.error !== undefined ? ` ${oneLine(e.error, 120)}` : ""}`;
      break;
    case "released":
      line = `${e.id} put back: ${e.reason}`;
      break;
    case "warning":
      line = `warning: ${e.message}`;
      break;
    case "stopped":
      line = `stopped after ${e.handled} message(s)`;
      break;
  }
  process.stderr.write(`${time} ${line}\n`);
}
