/**
 * CLI conventions (issue 17): "did you mean" for mistyped values, help defaults that say where they come
 * from and that time options take durations, refusing empty content, the quiet end of the recv loop,
 * colour only on a terminal (NO_COLOR, --no-color), and `abq handlers`. Run through the built CLI; the
 * terminal cases get a real pseudo-terminal from util-linux `script`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.ts";
import { closest, editDistance } from "../src/cli/suggest.ts";
import { describeListStates } from "../src/lifecycle/states.ts";
import { defaultPolicy } from "../src/protocol/policy.ts";
import { type Bus, CLI, makeBus, parseJson, ROOT, sendJson } from "./helpers.ts";

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** A fresh bus with channel `q`. */
async function busWithQueue(): Promise<Bus> {
  const bus = makeBus();
  expect((await bus.abq(["channel", "create", "q"])).code).toBe(0);
  return bus;
}

/** Runs `abq <args>` with stdin, stdout and stderr on a pseudo-terminal; everything it printed, as one text. */
function onTerminal(bus: Bus, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string } {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const line = [process.execPath, CLI, ...args].map(quote).join(" ");
  const r = spawnSync("script", ["-qfec", line, "/dev/null"], {
    cwd: bus.root,
    env: { ...bus.env, SHELL: "/bin/sh", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout.replace(/\r\n/g, "\n") };
}

const STATES = describeListStates();
const hasScript = spawnSync("sh", ["-c", "command -v script"]).status === 0;

describe("did you mean", () => {
  it("the edit distance counts a swap of neighbours as one edit, and a guess needs to be close and unique", () => {
    expect(editDistance("comamnd", "command")).toBe(1);
    expect(editDistance("sucess", "success")).toBe(1);
    expect(closest("procesing", ["requests", "processing", "responses"])).toBe("processing");
    expect(closest("SIGNAL", ["signal", "command"])).toBe("signal");
    expect(closest("bsh", ["bash", "zsh", "fish"])).toBeUndefined(); // bash and zsh are as close: no guess
    expect(closest("bogus", ["signal", "command", "eval", "status"])).toBeUndefined();
  });

  it.each([
    [
      ["send", "q", "comand", "hi"],
      "unknown type 'comand': use one of signal, command, eval, status (did you mean command?)",
    ],
    [
      ["ask", "q", "evl", "1+1", "--timeout", "1"],
      "unknown type 'evl': use one of signal, command, eval, status (did you mean eval?)",
    ],
    [
      ["respond", "q", "req_00", "--status", "sucess"],
      "unknown status 'sucess': use one of success, error, pending (did you mean success?)",
    ],
    [["ls", "q", "procesing"], `unknown state 'procesing': use ${STATES} (did you mean processing?)`],
    [["ls", "q", "daed"], `unknown state 'daed': use ${STATES} (did you mean dead?)`],
    [["schema", "reqest"], "unknown schema 'reqest': use one of request, response (did you mean request?)"],
    [["completion", "bahs"], "unknown shell 'bahs': use one of bash, zsh, fish (did you mean bash?)"],
    [["stauts"], "unknown command 'stauts' (Did you mean status?) (see abq --help)"],
  ])("abq %j: one line with one suggestion, exit 2", async (args, line) => {
    const bus = await busWithQueue();
    const r = await bus.abq(args);
    expect(r).toMatchObject({ code: 2, stdout: "", stderr: `abq: ${line}\n` });
  });

  it("a value too far from every choice gets the list instead, as before", async () => {
    const bus = await busWithQueue();
    expect((await bus.abq(["send", "q", "bogus", "x"])).stderr).toMatch(/unknown type: use one of signal, command/);
    expect((await bus.abq(["ls", "q", "nostate"])).stderr).toMatch(/unknown state 'nostate': use requests/);
    expect(await bus.abq(["ls", "q", "-c"])).toMatchObject({ code: 0, stdout: "0\n" }); // nothing was sent
  });
});

describe("help says what options take and where defaults come from", () => {
  const options = allCommands(buildProgram()).flatMap((cmd) =>
    cmd.options.map((o): [string, Option] => [`${cmd.name()} ${o.long ?? o.short ?? ""}`, o]),
  );

  it.each(options.filter(([, o]) => /<duration>/.test(o.flags)))(
    "%s takes a duration and says so with an example",
    (_name, option) => {
      expect(option.description).toMatch(/\b\d+(ms|s|m|h|d)\b/);
      // A default is given with its unit (30s, 7d) or says whose it is (the channel's).
      const dflt = /default:? ([^;)]*)/.exec(option.description)?.[1];
      if (dflt !== undefined)
        expect(dflt).toMatch(/^(\d+(ms|s|m|h|d)\b|0\b|no limit|any age|back at once|the channel's)/);
    },
  );

  it("no time option is left taking plain numbers only", () => {
    const timeLike = options.filter(
      ([, o]) =>
        /ttl|timeout|lease|retain|backoff|delay|grace|older|poll/.test(o.long ?? "") && !o.flags.includes("<token>"),
    );
    for (const [name, o] of timeLike) expect(o.flags, name).toMatch(/<(duration|ms)>/);
  });

  it("the channel policy defaults in the help are the library's", () => {
    const config = buildProgram()
      .commands.find((c) => c.name() === "channel")!
      .commands.find((c) => c.name() === "config")!;
    const help = (flag: string): string => config.options.find((o) => o.long === flag)!.description;
    const p = defaultPolicy();
    expect(help("--max-attempts")).toContain(`built-in default ${p.max_attempts})`);
    expect(help("--backoff")).toContain(`built-in default ${p.backoff_s}s)`);
    expect(help("--backoff-max")).toContain(`built-in default ${p.backoff_max_s}s)`);
    expect(help("--lease")).toContain(`built-in default ${p.lease_s}s)`);
    expect(help("--ttl")).toContain(`built-in default ${p.ttl_s})`);
    expect(help("--retain")).toContain(`built-in default ${p.retain_s / 86_400}d)`);
  });

  it("send --ttl names the channel's TTL as its default, not a number of its own", async () => {
    const r = await makeBus().abq(["send", "--help"]);
    expect(r.stdout.replace(/\s+/g, " ")).toMatch(/default: the channel's ttl_s, 0 unless set/);
  });

  it("watch --poll takes milliseconds as before, or a duration", async () => {
    const bus = await busWithQueue();
    for (const poll of ["200", "500ms", "1s"])
      expect((await bus.abq(["watch", "q", "-H", "true", "--once", "--poll", poll])).code, poll).toBe(0);
    const bad = await bus.abq(["watch", "q", "-H", "true", "--once", "--poll", "1.5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^abq: option '-p, --poll <ms>' argument '1.5' is invalid/);
  });
});

describe("empty content is refused unless --allow-empty", () => {
  const REFUSED = "abq: empty content (from stdin?); pass --allow-empty to send it anyway\n";

  it.each([
    ["an empty argument", ["send", "q", "command", ""], undefined],
    ["empty stdin with -", ["send", "q", "command", "-"], ""],
    ["empty piped stdin", ["send", "q", "command"], ""],
    ["send --wait", ["send", "q", "command", "", "--wait", "--timeout", "1"], undefined],
    ["ask", ["ask", "q", "command", "-", "--timeout", "1"], ""],
  ])("%s: exit 2, one line, nothing sent", async (_what, args, input) => {
    const bus = await busWithQueue();
    const r = await bus.abq(args, input !== undefined ? { input } : {});
    expect(r).toMatchObject({ code: 2, stdout: "", stderr: REFUSED });
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("0\n");
  });

  it("--allow-empty sends it", async () => {
    const bus = await busWithQueue();
    const m = await sendJson(bus, ["q", "signal", "-", "--allow-empty"], "");
    expect(m.content).toBe("");
    expect((await bus.abq(["send", "q", "signal", "", "--allow-empty"])).code).toBe(0);
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("2\n");
  });
});

describe("the recv loop ends quietly", () => {
  it("an empty queue is exit 4 with nothing on stderr; with --json the JSON error stays", async () => {
    const bus = await busWithQueue();
    expect(await bus.abq(["recv", "q"])).toMatchObject({ code: 4, stdout: "", stderr: "" });
    const json = await bus.abq(["recv", "q", "--json"]);
    expect(json).toMatchObject({ code: 4, stdout: "" });
    expect(parseJson(json.stderr)).toEqual({ error: { code: "E_EMPTY", message: "no pending messages in 'q'" } });
  });

  it("a --wait that times out still says so (exit 5)", async () => {
    const bus = await busWithQueue();
    const r = await bus.abq(["recv", "q", "--wait", "--timeout", "0.2"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^abq: no message arrived in 'q' within 0.2s/);
  });

  it("while msg=$(abq recv q); do …; done handles every message and ends without a word", async () => {
    const bus = await busWithQueue();
    for (const n of ["one", "two", "three"]) await sendJson(bus, ["q", "signal", n]);
    const r = spawnSync(
      "bash",
      [
        "-c",
        `n=0; while msg=$(node "$CLI" recv q); do n=$((n+1)); done; node "$CLI" recv q; echo "handled $n, then exit $?"`,
      ],
      { cwd: bus.root, env: { ...bus.env, CLI }, encoding: "utf8" },
    );
    expect(r.stdout).toBe("handled 3, then exit 4\n");
    expect(r.stderr).toBe("");
  });
});

describe.runIf(hasScript)("colour, only on a terminal", () => {
  const ESC = "\u001b[";

  it("errors get a coloured prefix on a terminal, and none when piped", async () => {
    const bus = await busWithQueue();
    const tty = onTerminal(bus, ["ls", "q", "nostate"]);
    expect(tty.code).toBe(2);
    expect(tty.out.startsWith(`${ESC}1m${ESC}31mabq:${ESC}39m${ESC}22m unknown state 'nostate'`)).toBe(true);
    const piped = await bus.abq(["ls", "q", "nostate"]);
    expect(piped.stderr).not.toContain(ESC);
  });

  it.each([
    ["NO_COLOR=1", ["status"], { NO_COLOR: "1" }],
    ["--no-color", ["status", "--no-color"], {}],
    ["--no-color before the command", ["--no-color", "status"], {}],
  ])("%s turns it off", async (_what, args, env) => {
    const bus = await busWithQueue();
    const r = onTerminal(bus, args, env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CHANNEL\s+PENDING/);
    expect(r.out).not.toContain(ESC);
  });

  it("an empty NO_COLOR does not; headings and states are coloured, message content never", async () => {
    const bus = await busWithQueue();
    const status = onTerminal(bus, ["status"], { NO_COLOR: "" });
    expect(status.out).toContain(`${ESC}1mCHANNEL${ESC}22m`);
    // Columns still line up: colour codes take no room.
    const [head, row] = status.out.split("\n").filter((l) => /CHANNEL|^q /.test(l));
    const plain = (s: string): string => s.replaceAll(`${ESC}1m`, "").replaceAll(`${ESC}22m`, "");
    expect(plain(head!).indexOf("PENDING")).toBe(row!.indexOf("0"));

    const m = await sendJson(bus, ["q", "command", "dead \u001b[31m red"]);
    const show = onTerminal(bus, ["show", m.id]);
    expect(show.out).toContain(`State: ${ESC}33mpending${ESC}39m`);
    expect(show.out).toContain("Content: dead \\u001b[31m red\n");
  });
});

describe("abq handlers", () => {
  it("lists the shipped handlers with their first comment line; --path is the folder", async () => {
    const bus = makeBus();
    const dir = join(ROOT, "handlers");
    const r = await bus.abq(["handlers"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(dir);
    const echoDoc = readFileSync(join(dir, "echo.sh"), "utf8").split("\n")[1]!.replace(/^# /, "");
    expect(r.stdout).toMatch(new RegExp(`^ {2}echo\\.sh +${echoDoc.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    for (const name of ["agent.sh", "dispatch.sh", "node-handler.mjs"]) expect(r.stdout).toContain(`  ${name} `);
    expect(await bus.abq(["handlers", "--path"])).toMatchObject({ code: 0, stdout: `${dir}\n` });
    const json = parseJson<{ dir: string; handlers: { name: string; path: string }[] }>(
      (await bus.abq(["handlers", "--json"])).stdout,
    );
    expect(json.dir).toBe(dir);
    expect(json.handlers.map((h) => h.name)).toEqual([
      "agent.sh",
      "dispatch.sh",
      "echo.sh",
      "node-handler.mjs",
      "pre-commit-reserve.sh",
    ]);
  });

  it("the path works as the help shows it: watch --handler $(abq handlers --path)/echo.sh", async () => {
    const bus = await busWithQueue();
    await sendJson(bus, ["q", "command", "hello"]);
    const dir = (await bus.abq(["handlers", "--path"])).stdout.trim();
    expect((await bus.abq(["watch", "q", "--handler", `${dir}/echo.sh`, "--once"])).code).toBe(0);
    expect((await bus.abq(["ls", "q", "responses", "--json"])).stdout).toMatch(/"result":"hello"/);
  });
});
