import { isTerminal } from "../terminal.ts";
import { type Command, InvalidArgumentError, Option } from "commander";
import { withExamples } from "../help.ts";
import {
  commonOptions,
  escapeControls,
  oneLine,
  printJson,
  printNdjson,
  printText,
  table,
  writeOut,
} from "../output.ts";
import { EXIT } from "../exit.ts";
import { withAbortOnSignals } from "../signals.ts";
import { parseSeconds, parseTimeout } from "./parse.ts";

interface SetFlags {
  ifRevision?: number;
  ifAbsent?: boolean;
  ttl?: number;
  json?: boolean;
}

/** `--if-revision`: a whole number of at least 0. */
function revision(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`'${value}' is not a revision (a whole number, 0 or more)`);
  }
  return n;
}

/** A value for a terminal: control characters escaped; raw into a pipe or file. */
function shown(value: string): string {
  return isTerminal(1) ? escapeControls(value) : value;
}

export function registerKv(program: Command): void {
  const kv = program
    .command("kv")
    .description("shared key-value state with revisions: get, set (compare-and-set), del, ls, watch");
  kv.command("get <bucket> <key>")
    .description("print a key's value (exit 3 when it has none)")
    .option("--json", "{bucket, key, revision, value, updated_at, updated_by, expires_at?}")
    .action(async (bucket: string, key: string, opts: { json?: boolean }, cmd: Command) => {
      const { kvGet } = await import("../../index.ts");
      const entry = await kvGet({ ...commonOptions(cmd), bucket, key });
      if (opts.json) return printJson(entry);
      printText(shown(entry.value));
    });
  kv.command("set <bucket> <key> [value]")
    .description("set a key (value '-' or a pipe reads stdin); prints the new revision")
    .addOption(
      new Option("--if-revision <n>", "only if the key is at revision n now (0: never written); else exit 7").argParser(
        revision,
      ),
    )
    .option("--if-absent", "only if the key has no value (never set, deleted or expired); else exit 7")
    .addOption(new Option("--ttl <duration>", "the value expires after this long, e.g. 10m").argParser(parseSeconds))
    .option("--json", "the stored entry")
    .action(async (bucket: string, key: string, value: string | undefined, opts: SetFlags, cmd: Command) => {
      const { kvSet } = await import("../../index.ts");
      const { resolveContent } = await import("../content.ts");
      const text = await resolveContent(value, true);
      const entry = await kvSet({ ...commonOptions(cmd), bucket, key, value: text, ...opts });
      if (opts.json) return printJson(entry);
      printText(`Set ${bucket}/${key} revision ${entry.revision}`);
    });
  kv.command("del <bucket> <key>")
    .description("delete a key (exit 3 when it has no value)")
    .addOption(new Option("--if-revision <n>", "only if the key is at revision n now; else exit 7").argParser(revision))
    .option("--json", "{bucket, key, revision}")
    .action(async (bucket: string, key: string, opts: { ifRevision?: number; json?: boolean }, cmd: Command) => {
      const { kvDel } = await import("../../index.ts");
      const done = await kvDel({ ...commonOptions(cmd), bucket, key, ifRevision: opts.ifRevision });
      if (opts.json) return printJson(done);
      printText(`Deleted ${bucket}/${key} (revision ${done.revision})`);
    });
  kv.command("ls <bucket>")
    .description("list a bucket's keys with their revisions and values")
    .option("--json", "one entry per line (NDJSON)")
    .action(async (bucket: string, opts: { json?: boolean }, cmd: Command) => {
      const { kvList } = await import("../../index.ts");
      const { entries, expired, unreadable } = await kvList({ ...commonOptions(cmd), bucket });
      // A key that cannot be read is named on stderr and makes the exit 6 (as a broken queue does for
      // sweep); the rest is listed all the same.
      for (const u of unreadable) writeOut(2, `abq: ${oneLine(u.problem, 400)}\n`);
      if (unreadable.length > 0) process.exitCode = EXIT.IO;
      if (opts.json) return printNdjson(entries);
      const rows = entries.map((e) => [e.key, String(e.revision), shown(e.value.split("\n")[0]!.slice(0, 60))]);
      printText(entries.length === 0 ? `No keys in ${bucket}` : table([["KEY", "REV", "VALUE"], ...rows]));
      if (expired > 0) writeOut(2, `${expired} expired key(s) not shown\n`);
    });
  kv.command("watch <bucket> [key]")
    .description("print the current values, then every change, as NDJSON (op: set or del)")
    .addOption(
      new Option(
        "--timeout <duration>",
        "stop after this long, e.g. 10m (default: no limit; Ctrl-C stops it)",
      ).argParser(parseTimeout),
    )
    .action(async (bucket: string, key: string | undefined, opts: { timeout?: number }, cmd: Command) => {
      const { kvWatch } = await import("../../index.ts");
      const { readerLeft } = await import("../output.ts");
      await withAbortOnSignals(async (signal) => {
        const stop = AbortSignal.any([
          signal,
          ...(opts.timeout !== undefined ? [AbortSignal.timeout(opts.timeout * 1000)] : []),
        ]);
        for await (const change of kvWatch({ ...commonOptions(cmd), bucket, key, signal: stop })) {
          printJson(change);
          if (readerLeft(1)) break;
        }
      });
    });
  withExamples(kv, "abq kv set ci last-green 3f2a9c1", "abq kv get ci last-green", "abq kv watch ci");
  const examples: Record<string, string[]> = {
    get: ["abq kv get ci last-green", "abq kv get ci last-green --json | jq .revision"],
    set: [
      "abq kv set ci last-green 3f2a9c1",
      "abq kv set ci owner agent-a --if-absent --ttl 1h",
      "git rev-parse HEAD | abq kv set ci last-green - --if-revision 7",
    ],
    del: ["abq kv del ci owner", "abq kv del ci owner --if-revision 3"],
    ls: ["abq kv ls ci", "abq kv ls ci --json | jq -r .key"],
    watch: ["abq kv watch ci", "abq kv watch ci last-green --timeout 10m"],
  };
  for (const sub of kv.commands) withExamples(sub, ...(examples[sub.name()] ?? []));
}
