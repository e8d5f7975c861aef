/**
 * The hostile-input gauntlet, CLI half (the MCP half: test/hostile-input-mcp.test.ts). One bus, seeded
 * through the CLI (test/fixtures/hostile/gauntlet.ts), then a table of distinct bad inputs and faults, run
 * one after the other through the built CLI. Each case asserts its exit code; that stderr is one `abq: …`
 * line matching its pattern, with no raw control character (or empty, for the few that succeed); and that
 * every message sent before it is still accounted for: same ids, each in one state, only the changes the
 * case names. After each category, `abq status --json` must count what the folders hold.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { RunResult } from "./helpers.ts";
import {
  type Case,
  corrupted,
  count,
  type Fault,
  fileInstead,
  type Gauntlet,
  type Ledger,
  linked,
  moded,
  num,
  planted,
  runCliCases,
  storedContent,
  t,
} from "./fixtures/hostile/gauntlet.ts";

const OK = '{"type":"signal","content":"fine"}\n';
const big = (n: number): string => "y".repeat(n);
const CAP = { ABQ_MAX_BYTES: "1000" };
/** Inline content capped at 1000 bytes, and an attachment (where bigger content spills) at 1500. */
const CAPS = { ...CAP, ABQ_MAX_ATTACHMENT_BYTES: "1500" };
const ATTACHMENT_CAP_ERROR = /an attachment is larger than the cap of 1500 bytes \(raise ABQ_MAX_ATTACHMENT_BYTES/;
const INVALID_UTF8 = Buffer.from([0x61, 0xff, 0xfe, 0xc3]);
const ZEROS = "0".repeat(15);
const outsideFile: Fault = (g) => {
  writeFileSync(join(g.root, "plain"), "a plain file\n");
  return () => rmSync(join(g.root, "plain"));
};
const agentsLinked: Fault = (g) => {
  mkdirSync(join(g.root, "agents-elsewhere"));
  symlinkSync(join(g.root, "agents-elsewhere"), join(g.home, "agents"));
  return () => rmSync(join(g.home, "agents"));
};
const linkToSecret: Fault = (g) => {
  writeFileSync(join(g.root, "secret"), "not for the bus\n");
  symlinkSync(join(g.root, "secret"), g.at("r", "requests", `req_${ZEROS}2.json`));
  return () => undefined;
};
const pendingCount = (r: RunResult, _g: Gauntlet, _f: string[], before: Ledger) =>
  expect(r.stdout).toBe(`${count(before)["q:pending"]}\n`);
const contentIs = (text: string) => (_r: RunResult, g: Gauntlet, fresh: string[]) =>
  expect(storedContent(g, "q", fresh[0]!)).toBe(text);
/** recv set the bad file aside and claimed the valid message behind it. */
const rejectsAndClaims = (fault: Fault, more: Partial<Case> = {}) =>
  t(
    ["recv", "r"],
    0,
    /^abq: rejected 1 \(invalid, or refused by the channel's sender rules; see: abq ls r rejected\)$/m,
    {
      fault,
      added: ["r:rejected"],
      claims: "r",
      then: (r) => expect(r.stdout).toMatch(/^Content: r\d$/m),
      ...more,
    },
  );

const CASES: Record<string, Record<string, Case>> = {
  "channel names": {
    empty: t(["send", "", "signal", "x"], 2, /channel name is empty/),
    "..": t(["send", "..", "signal", "x"], 2, /invalid channel name '\.\.'/),
    "/": t(["recv", "/"], 2, /invalid channel name '\/'/),
    "10 000 characters": t(["ls", "a".repeat(10_000)], 2, /invalid channel name 'a{67}\.\.\.': use 1-64/, {
      then: (r) => expect(r.stderr.length).toBeLessThan(300),
    }),
    "a zero-width space": t(["send", "q\u200b", "signal", "x"], 2, /invalid channel name/),
    "a Cyrillic homoglyph": t(["send", "\u0430", "signal", "x"], 2, /invalid channel name/),
    "a bidi override": t(["wait", "\u202eq", "--timeout", "0"], 2, /invalid channel name '\\u202eq'/),
    "a terminal escape": t(["send", "\u001b[31mq", "signal", "x"], 2, /invalid channel name '\\u001b\[31mq'/),
    "a newline": t(["channel", "create", "q\n"], 2, /invalid channel name 'q\\n'/),
    "upper case": t(["send", "Q", "signal", "x"], 2, /invalid channel name 'Q'/),
    "a leading dash after --": t(["send", "--", "-q", "signal", "x"], 2, /invalid channel name '-q'/),
    "a leading dash": t(["send", "-z", "signal", "x"], 2, /unknown option '-z'/),
    "--reply-to ../x": t(["send", "q", "signal", "x", "--reply-to", "../x"], 2, /invalid channel name '\.\.\/x'/),
    "--as ../x": t(["recv", "q", "--as", "../x"], 2, /invalid subscriber name '\.\.\/x'/),
    "channel rm ../q": t(["channel", "rm", "../q", "--yes"], 2, /invalid channel name '\.\.\/q'/),
    "purge ..": t(["purge", "..", "--yes"], 2, /invalid channel name '\.\.'/),
    "check --inbox a..b": t(["check", "--inbox", "a..b"], 2, /invalid channel name 'a\.\.b'/),
    "no such channel": t(["send", "nope", "signal", "x"], 3, /no channel 'nope' \(create it with/),
    "tail of no such channel": t(["tail", "nope"], 3, /no channel 'nope'/),
    "dead letters of no such channel": t(["dead", "nope"], 3, /no channel 'nope'/),
  },
  "message ids": {
    "show ../../x": t(["show", "../../x"], 2, /'\.\.\/\.\.\/x' is not a message id/),
    "show ''": t(["show", ""], 2, /'' is not a message id/),
    "show of 65 hex digits": t(["show", `req_${"a".repeat(65)}`], 2, /is not a message id/),
    "trace with a wrong prefix": t(["trace", "msg_0123"], 2, /'msg_0123' is not a message id/),
    "respond REQ_01": t(["respond", "q", "REQ_01", "-r", "x"], 2, /is not a message id/),
    "cancel req_": t(["cancel", "q", "req_"], 2, /'req_' is not a message id/),
    "requeue --id ../../x": t(["requeue", "--id", "../../x"], 2, /'\.\.\/\.\.\/x' is not a message id/),
    "requeue --id, the second bad": t(["requeue", "q", "--id", "$P", "../x"], 2, /'\.\.\/x' is not a message id/),
    "ack req_xyz": t(["ack", "q", "req_xyz"], 2, /is not a message id/),
    "release with a trailing space": t(["release", "q", "req_01 "], 2, /is not a message id/),
    "term ../x": t(["term", "q", "../x", "-r", "x"], 2, /is not a message id/),
    "show of an unknown id": t(["show", `req_${ZEROS}${ZEROS}0a`], 3, /no message req_0+a in any channel/),
    "respond to an unknown id": t(["respond", "q", `req_${ZEROS}a`, "-r", "x"], 3, /no message req_0+a in channel/),
    "cancel of a claimed message": t(["cancel", "q", "$C"], 7, /is claimed, so it can no longer be cancelled/),
    "respond to a pending message": t(["respond", "q", "$P", "-r", "x"], 7, /is pending, not claimed/),
    "respond --lease that is a path": t(
      ["respond", "q", "$C", "--lease", "../../../../x", "-r", "evil"],
      2,
      /is not a lease token/,
      {
        then: (_r, g) => {
          expect(existsSync(join(g.home, "channels", "x.json"))).toBe(false);
          expect(existsSync(join(g.root, "x.json"))).toBe(false);
        },
      },
    ),
    "ack of a dead letter": t(["ack", "q", "$D"], 7, /is dead \(dead-lettered\), not claimed/),
    "respond to a dead letter": t(["respond", "q", "$D", "-r", "x"], 7, /is dead \(dead-lettered\), not claimed/),
    "term of a dead letter": t(["term", "q", "$D", "-r", "x"], 7, /is dead/),
    "a second answer": t(["respond", "q", "$R", "-r", "again"], 7, /already answered; the first answer stands/, {
      then: (_r, g) => expect(readFileSync(g.at("q", "responses", `${g.ids.R}.json`), "utf8")).toMatch(/first answer/),
    }),
    "release of an acknowledged message": t(["release", "q", "$K"], 7, /is already archived/),
    "cancel of a dead letter": t(["cancel", "q", "$D"], 7, /is dead, so it can no longer be cancelled/),
  },
  numbers: {
    "--ttl -1": num(["send", "q", "signal", "x"], "--ttl", "-1"),
    "--ttl NaN": num(["send", "q", "signal", "x"], "--ttl", "NaN"),
    "ask --ttl 1e20": num(["ask", "q", "command", "x"], "--ttl", "1e20", "over"),
    "--ttl 1.5": t(["send", "q", "signal", "x", "--ttl", "1.5"], 2, /ttl: must be whole seconds/),
    "send --wait --timeout 2147484": num(["send", "q", "signal", "x", "--wait"], "--timeout", "2147484", "over"),
    "recv --timeout 10x": num(["recv", "e", "--wait"], "--timeout", "10x"),
    "wait --timeout ''": num(["wait", "e"], "--timeout", ""),
    "ask --timeout Infinity": num(["ask", "q", "command", "x"], "--timeout", "Infinity"),
    "watch -j 0": num(["watch", "q", "-H", "true", "--once"], "--jobs", "0"),
    "watch -j 2000": num(["watch", "q", "-H", "true", "--once"], "--jobs", "2000", "over"),
    "watch --poll 1.5": num(["watch", "q", "-H", "true", "--once"], "--poll", "1.5"),
    "watch --grace -1": num(["watch", "q", "-H", "true", "--once"], "--grace", "-1"),
    "watch --timeout 1e20": num(["watch", "q", "-H", "true", "--once"], "--timeout", "1e20", "over"),
    "ls -n 10x": num(["ls", "q"], "--limit", "10x"),
    "ls -n 1000001": num(["ls", "q"], "--limit", "1000001", "over"),
    "check --inbox -n 0": num(["check", "--inbox", "q"], "--limit", "0"),
    "release --delay -5m": num(["release", "q", "$C"], "--delay", "-5m"),
    "release --delay 400d": num(["release", "q", "$C"], "--delay", "400d", "over"),
    "requeue --older-than NaN": num(["requeue"], "--older-than", "NaN"),
    "requeue --older-than 5y": num(["requeue"], "--older-than", "5y"),
    "--max-attempts 0": num(["channel", "config", "q"], "--max-attempts", "0"),
    "--max-attempts 2.5": num(["channel", "config", "q"], "--max-attempts", "2.5"),
    "--backoff-max 1e20": num(["channel", "config", "q"], "--backoff-max", "1e20", "over"),
    "--lease 10x": num(["channel", "config", "q"], "--lease", "10x"),
    "--retain -1": num(["channel", "config", "q"], "--retain", "-1"),
    "channel create --backoff NaN": num(["channel", "create", "z"], "--backoff", "NaN", "bad", {
      then: (_r, g) => expect(existsSync(g.at("z")), "the channel is not created").toBe(false),
    }),
    "heartbeat --ttl 1e20": num(["heartbeat", "q"], "--ttl", "1e20", "over"),
    "channel config --ttl 1e20": num(["channel", "config", "q"], "--ttl", "1e20", "over"),
    "bridge -j -4": num(["bridge", "q"], "--jobs", "-4"),
  },
  "types, statuses, states": {
    "an unknown type": t(["send", "q", "bogus", "x"], 2, /unknown type: use one of signal, command, eval, status/),
    "a type in upper case": t(["send", "q", "SIGNAL", "x"], 2, /unknown type/),
    "ask with an empty type": t(["ask", "q", "", "x", "--timeout", "1"], 2, /unknown type/),
    "an unknown status": t(["respond", "q", "$C", "-s", "weird"], 2, /unknown status: use one of success, error/),
    "an unknown state": t(["ls", "q", "nostate"], 2, /unknown state 'nostate': use requests/),
    "an unknown schema": t(["schema", "foo"], 2, /unknown schema 'foo'/),
  },
  "content on stdin": {
    "empty stdin": t(["send", "q", "signal", "-"], 2, /empty content \(from stdin\?\); pass --allow-empty/, {
      input: "",
    }),
    "empty stdin with --allow-empty": t(["send", "q", "signal", "-", "--allow-empty"], 0, null, {
      input: "",
      added: ["q:pending"],
      then: contentIs(""),
    }),
    "a NUL byte": t(["send", "q", "signal", "-"], 0, null, {
      input: "a\0b",
      added: ["q:pending"],
      then: contentIs("a\0b"),
    }),
    // Content is text: bytes that are not UTF-8 are stored as U+FFFD, not refused (see the report).
    "invalid UTF-8": t(["send", "q", "signal", "-"], 0, null, {
      input: INVALID_UTF8,
      added: ["q:pending"],
      then: contentIs(INVALID_UTF8.toString("utf8")),
    }),
    // Over ABQ_MAX_BYTES, content and results spill into an attachment (test/attach.test.ts); over the
    // attachment cap too, they are refused, and nothing is sent or answered.
    "stdin over both caps": t(["send", "q", "signal", "-"], 2, ATTACHMENT_CAP_ERROR, { input: big(2000), env: CAPS }),
    "an argument over both caps": t(["send", "q", "signal", big(2000)], 2, ATTACHMENT_CAP_ERROR, { env: CAPS }),
    "respond -r - over both caps": t(["respond", "q", "$C", "-r", "-"], 2, ATTACHMENT_CAP_ERROR, {
      input: big(2000),
      env: CAPS,
    }),
    "a result over both caps": t(["respond", "q", "$C", "-r", big(2000)], 2, ATTACHMENT_CAP_ERROR, { env: CAPS }),
  },
  "send --batch": {
    "bad JSON on line 3": t(["send", "q", "--batch"], 2, /line 3: not JSON \(2 message\(s\) before it were sent\)/, {
      input: `${OK}${OK}{not json\n${OK}`,
      added: ["q:pending", "q:pending"],
    }),
    "a NUL in a channel name": t(["send", "q", "--batch"], 2, /line 2: invalid channel name 'a\\u0000b'.*\(1 message/, {
      input: `${OK}{"type":"signal","channel":"a\\u0000b"}\n`,
      added: ["q:pending"],
    }),
    "no such channel on line 2": t(["send", "q", "--batch"], 3, /line 2: no channel 'nope' \(1 message\(s\) before/, {
      input: `${OK}{"type":"signal","channel":"nope"}\n`,
      added: ["q:pending"],
    }),
    "an array on line 1": t(["send", "q", "--batch"], 2, /line 1: .*expected object.*\(0 message\(s\) before/, {
      input: `[1,2]\n${OK}`,
    }),
    "an unknown key": t(["send", "q", "--batch"], 2, /line 2: Unrecognized key: "extra" \(1 message/, {
      input: `${OK}{"type":"signal","extra":1}\n`,
      added: ["q:pending"],
    }),
    "a negative ttl": t(["send", "q", "--batch"], 2, /line 2: ttl: .*\(1 message/, {
      input: `${OK}{"type":"signal","ttl":-1}\n`,
      added: ["q:pending"],
    }),
    "a line over the cap": t(["send", "q", "--batch"], 2, /line 2: a line of stdin is larger than the cap of 1000/, {
      input: `${OK}{"type":"signal","content":"${big(2000)}"}\n`,
      env: CAP,
      added: ["q:pending"],
    }),
    "a type argument": t(["send", "q", "--batch", "signal"], 2, /--batch takes types from its input lines/, {
      input: OK,
    }),
  },
  "commands and options": {
    "an unknown command": t(["frobnicate"], 2, /unknown command 'frobnicate'/),
    "a misspelt command": t(["sned", "q", "signal", "x"], 2, /unknown command 'sned' \(Did you mean send\?\)/),
    "an unknown subcommand": t(["channel", "frob"], 2, /unknown command 'frob'/),
    "a misspelt option": t(["recv", "q", "--jsno"], 2, /unknown option '--jsno' \(Did you mean --json\?\)/),
    "too many arguments": t(["send", "q", "signal", "x", "extra"], 2, /too many arguments for 'send'/),
    "term without --reason": t(["term", "q", "$C"], 2, /required option '-r, --reason <text>' not specified/),
    "--home without its value": t(["--home"], 2, /option '--home <dir>' argument missing/),
    "purge without --yes": t(["purge", "q"], 2, /purge not confirmed/),
    "channel rm of a busy channel": t(["channel", "rm", "q"], 2, /pending.*pass --yes/),
    "subscribe to a queue": t(["subscribe", "q", "alice"], 2, /'q' is a queue, not a topic/),
    "check --alive alone": t(["check", "--alive"], 2, /use --channel <name> and --alive together/),
    "someone else's lease token": t(["ack", "q", "$C", "--lease", "zzz"], 7, /lease on req_\w+ was lost/),
    "a lease token that is a path": t(["release", "q", "$C", "--lease", "../../x"], 2, /is not a lease token/),
    "recv on an empty channel: exit 4, quietly (the recv loop idiom)": t(["recv", "e"], 4, null),
    "wait --timeout 0": t(["wait", "e", "--timeout", "0"], 5, /nothing arrived in 'e' within 0s/),
    "ask --timeout 0": t(["ask", "q", "command", "x", "--timeout", "0"], 5, /no answer to req_\w+ in 'q' within 0s/, {
      added: ["q:pending"],
    }),
    "a handler that cannot start": t(["watch", "q", "-H", "/nonexistent/h", "--once"], 2, /not found or is not exec/),
  },
  "filesystem faults": {
    "requests/ is a link": t(["send", "q", "signal", "x"], 9, /q\/requests is a symbolic link/, {
      fault: linked("channels", "q", "requests"),
    }),
    "tmp/ is a link": t(["recv", "q"], 9, /q\/tmp is a symbolic link/, { fault: linked("channels", "q", "tmp") }),
    "leases/ is a link": t(["recv", "q"], 9, /q\/leases is a symbolic link/, {
      fault: linked("channels", "q", "leases"),
    }),
    "responses/ is a link": t(["respond", "q", "$C", "-r", "x"], 9, /q\/responses is a symbolic link/, {
      fault: linked("channels", "q", "responses"),
    }),
    "processing/ is a link": t(["ack", "q", "$C"], 9, /q\/processing is a symbolic link/, {
      fault: linked("channels", "q", "processing"),
    }),
    "channels/ is a link": t(["recv", "q"], 9, /channels is a symbolic link/, { fault: linked("channels") }),
    "show through a linked processing/": t(["show", "$C"], 9, /processing is a symbolic link/, {
      fault: linked("channels", "q", "processing"),
    }),
    "status through a linked processing/": t(["status"], 9, /processing is a symbolic link/, {
      fault: linked("channels", "q", "processing"),
    }),
    "channel create with the home's tmp/ a link": t(["channel", "create", "z"], 9, /tmp is a symbolic link/, {
      fault: linked("tmp"),
      then: (_r, g) => expect(existsSync(g.at("z")), "nothing created").toBe(false),
    }),
    "a FIFO in requests/": rejectsAndClaims(
      planted((p) => execFileSync("mkfifo", [p]), "channels", "r", "requests", `req_${ZEROS}3.json`),
    ),
    "the home's agents/ is a link": t(["heartbeat", "q"], 9, /agents is a symbolic link/, {
      fault: agentsLinked,
      then: (_r, g) => expect(readdirSync(join(g.root, "agents-elsewhere")), "nothing written through it").toEqual([]),
    }),
    "channels/ writable by everyone": t(["send", "q", "signal", "x"], 9, /channels is writable by everyone/, {
      fault: moded(0o777, "channels"),
    }),
    "a channel writable by everyone": t(["recv", "q"], 9, /q is writable by everyone \(mode 777\)/, {
      fault: moded(0o777, "channels", "q"),
    }),
    "requests/ writable by everyone": t(["cancel", "q", "$P"], 9, /requests is writable by everyone/, {
      fault: moded(0o777, "channels", "q", "requests"),
    }),
    "a home writable by everyone": t(["send", "q", "signal", "x"], 9, /bus home .* is writable by everyone/, {
      fault: moded(0o777),
    }),
    "a file where requests/ should be": t(["send", "q", "signal", "x"], 6, /ENOTDIR/, {
      fault: fileInstead("channels", "q", "requests"),
    }),
    "a file where archive/ should be": t(["cancel", "q", "$P"], 6, /cannot move .*ENOTDIR/, {
      fault: fileInstead("channels", "q", "archive"),
    }),
    "a file where channels/ should be": t(["status"], 6, /cannot list .*channels: ENOTDIR/, {
      fault: fileInstead("channels"),
    }),
    "a corrupt registry.json": t(["channel", "list"], 0, null, {
      fault: corrupted("{garbage", "registry.json"),
      then: (r) => expect(r.stdout).toBe("e\nq\nr\n"),
    }),
    "a corrupt channel.json": t(["ls", "q", "-c"], 0, null, {
      fault: corrupted("[1,2", "channels", "q", "channel.json"),
      then: pendingCount,
    }),
    "a torn message in requests/": rejectsAndClaims(
      planted((p) => writeFileSync(p, '{"id": "req_00'), "channels", "r", "requests", `req_${ZEROS}1.json`),
    ),
    "a message named with a bad id": rejectsAndClaims(
      planted((p) => writeFileSync(p, "{}"), "channels", "r", "requests", "req_000g.json"),
    ),
    "a message that is a link out of the bus": rejectsAndClaims(linkToSecret, {
      then: (r, g) => {
        expect(r.stdout).toMatch(/^Content: r\d$/m);
        expect(readFileSync(join(g.root, "secret"), "utf8")).toBe("not for the bus\n");
      },
    }),
  },
  ABQ_HOME: {
    "/proc/self": t(["recv", "q"], 9, /bus home \/proc\/self is a symbolic link/, { env: { ABQ_HOME: "/proc/self" } }),
    "/proc/self/fd": t(["channel", "create", "c"], 9, /\/proc\/self\/fd is on \/proc, which cannot hold files/, {
      env: { ABQ_HOME: "/proc/self/fd" },
    }),
    "/sys/kernel": t(["init"], 9, /bus home \/sys\/kernel is on \/sys/, { env: { ABQ_HOME: "/sys/kernel" } }),
    "a regular file": t(["send", "q", "signal", "x"], 6, /ENOTDIR/, {
      env: { ABQ_HOME: "$ROOT/plain" },
      fault: outsideFile,
    }),
    "a folder under a regular file": t(["init"], 6, /ENOTDIR/, {
      env: { ABQ_HOME: "$ROOT/plain/home" },
      fault: outsideFile,
    }),
    "--home /dev/null": t(["--home", "/dev/null", "status"], 6, /ENOTDIR/),
    "--home ''": t(["--home", "", "channel", "create", "z"], 2, /--home\) is empty/, {
      then: (_r, g) => expect(existsSync(join(g.root, "channels")), "the working folder is no bus").toBe(false),
    }),
    "a relative path, from the working directory": t(["ls", "q", "-c"], 0, null, {
      env: { ABQ_HOME: "home" },
      then: pendingCount,
    }),
  },
};

runCliCases("hostile input through the CLI", CASES);
