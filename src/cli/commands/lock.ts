import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printNdjson, printText, table, writeOut } from "../output.ts";
import { parseSeconds, parseTimeout } from "./parse.ts";

interface AcquireFlags {
  ttl?: number;
  wait?: number;
  ownerPid?: number;
  json?: boolean;
}

function pid(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not a pid`);
  return n;
}

const ttlOption = (): Option =>
  new Option("--ttl <duration>", "the hold expires after this long unless renewed (default 5m)").argParser(
    parseSeconds,
  );
const waitOption = (): Option =>
  new Option(
    "--wait <duration>",
    "wait this long for a held lock, e.g. 1m (default 0: fail at once, exit 7)",
  ).argParser(parseTimeout);

export function registerLock(program: Command): void {
  const lock = program
    .command("lock")
    .description("named locks: acquire, release, run a command under one, list; a live holder is never robbed");
  lock
    .command("acquire <name>")
    .description("take a lock; prints its token (exit 7 when held, 5 when --wait ran out)")
    .addOption(ttlOption())
    .addOption(waitOption())
    .addOption(
      new Option(
        "--owner-pid <pid>",
        "process whose death frees the lock at once (default: none; the TTL decides)",
      ).argParser(pid),
    )
    .option("--json", "{name, token, revision, owner, acquired_at, expires_at, ttl_s, took_over?}")
    .action(async (name: string, opts: AcquireFlags, cmd: Command) => {
      const { acquireLock } = await import("../../index.ts");
      const hold = await acquireLock({ ...commonOptions(cmd), name, ...opts, ownerPid: opts.ownerPid ?? 0 });
      if (opts.json) return printJson(hold);
      if (hold.took_over) {
        writeOut(2, `took over from ${escapeControls(hold.took_over.owner.agent)} (${hold.took_over.reason})\n`);
      }
      printText(`Acquired ${name} token ${hold.token} until ${hold.expires_at}`);
    });
  lock
    .command("release <name>")
    .description("release a lock you hold (exit 7 when it is not held, or not by you)")
    .option("--token <token>", "the token acquire printed (default: any hold of your agent)")
    .option("--json", "{name, revision}")
    .action(async (name: string, opts: { token?: string; json?: boolean }, cmd: Command) => {
      const { releaseLock } = await import("../../index.ts");
      const done = await releaseLock({ ...commonOptions(cmd), name, token: opts.token });
      if (opts.json) return printJson(done);
      printText(`Released ${name}`);
    });
  lock
    .command("run <name> <command...>")
    .description("hold a lock while a command runs (after --); released when it exits or crashes")
    .addOption(ttlOption())
    .addOption(waitOption())
    .action(async (name: string, command: string[], opts: AcquireFlags, cmd: Command) => {
      const { runLocked } = await import("../../index.ts");
      const result = await runLocked({
        ...commonOptions(cmd),
        name,
        command,
        ttl: opts.ttl,
        wait: opts.wait,
        onWarning: (text) => writeOut(2, `abq: ${escapeControls(text)}\n`),
      });
      process.exitCode = result.exitCode;
    });
  lock
    .command("list [name]")
    .description("locks and their holders; 'takeover' marks one the next acquirer may take")
    .option("--json", "one lock per line (NDJSON)")
    .action(async (name: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const { listLocks } = await import("../../index.ts");
      const locks = await listLocks({ ...commonOptions(cmd), name });
      if (opts.json) return printNdjson(locks);
      const rows = locks.map((l) => [
        l.name,
        l.state,
        l.owner ? escapeControls(`${l.owner.agent}${l.owner.pid > 0 ? ` pid ${l.owner.pid}` : ""}`) : "-",
        l.expires_at ?? "-",
      ]);
      printText(locks.length === 0 ? "No locks" : table([["LOCK", "STATE", "HOLDER", "EXPIRES"], ...rows]));
    });
  withExamples(
    lock,
    "abq lock acquire migration --ttl 10m --wait 1m",
    "abq lock release migration",
    "abq lock run deploy --wait 5m -- ./deploy.sh staging",
  );
  const examples: Record<string, string[]> = {
    acquire: ["abq lock acquire migration --ttl 10m --wait 1m", "abq lock acquire nightly --owner-pid 4242 --json"],
    release: ["abq lock release migration", "abq lock release migration --token 8a3a9d2ee4a7f691"],
    run: ["abq lock run deploy --wait 5m -- ./deploy.sh staging", "abq lock run nightly --ttl 1h -- make release"],
    list: ["abq lock list", "abq lock list migration --json"],
  };
  for (const sub of lock.commands) withExamples(sub, ...(examples[sub.name()] ?? []));
}
