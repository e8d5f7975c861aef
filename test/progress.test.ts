/**
 * Progress and summaries of long operations (send --batch, purge, requeue, sweep, channel rm). On a
 * terminal (a real pseudo-terminal from util-linux `script`) a progress line is redrawn in place on
 * stderr, at most ~10 times a second, and the result line ends with the time taken; piped, or with
 * --json, nothing of that is printed and stdout is what it always was; -q silences it on a terminal too.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { type Bus, CLI, LIB, makeBus, sendJson } from "./helpers.ts";

const hasScript = spawnSync("sh", ["-c", "command -v script"]).status === 0;

/** `abq <args>` with stdin, stdout and stderr on a pseudo-terminal (stdin from `file` if given). */
function onTerminal(bus: Bus, args: string[], file?: string): { code: number | null; out: string } {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const line = [process.execPath, CLI, ...args].map(quote).join(" ") + (file !== undefined ? ` < ${quote(file)}` : "");
  const r = spawnSync("script", ["-qfec", line, "/dev/null"], {
    cwd: bus.root,
    env: { ...bus.env, SHELL: "/bin/sh" },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout.replace(/\r\n/g, "\n") };
}

/** A file of `n` batch lines. */
function batchFile(bus: Bus, n: number): string {
  const file = join(bus.root, "batch.ndjson");
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ type: "signal", content: `m${i}` }));
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function busWith(pending: number): Promise<Bus> {
  const bus = makeBus();
  // --backoff 0: a requeued message is pending again at once (not delayed for a backoff first).
  expect((await bus.abq(["channel", "create", "q", "--backoff", "0"])).code).toBe(0);
  if (pending > 0) {
    const input = Array.from({ length: pending }, (_, i) => JSON.stringify({ type: "signal", content: `p${i}` }));
    expect((await bus.abq(["send", "q", "--batch"], { input: input.join("\n") })).code).toBe(0);
  }
  return bus;
}

const TIME = String.raw`\(\d+(\.\d)?s\)|\(\d+m\d\ds\)`;
// eslint-disable-next-line no-control-regex -- the escape character is what is looked for
const PROGRESS_LINE = /\r(?:\u001b\[2m)?sending to q: \d+ sent \([\d.]+s\)/g;

describe.runIf(hasScript)("on a terminal", () => {
  it("send --batch draws its progress in place, throttled, and ends with the count and the time, once", async () => {
    const bus = await busWith(0);
    const file = batchFile(bus, 2500);
    const r = onTerminal(bus, ["send", "q", "--batch"], file);
    expect(r.code).toBe(0);
    const end = new RegExp(`\\u001b\\[KSent 2500 message\\(s\\) to q (${TIME})\\n$`);
    expect(r.out).toMatch(end); // the progress line cleared, then the one result line
    const seconds = Number(/\((\d+(?:\.\d)?)s\)\n$/.exec(r.out)?.[1] ?? "NaN");
    const redraws = r.out.match(PROGRESS_LINE) ?? [];
    if (seconds >= 0.5) expect(redraws.length).toBeGreaterThan(0);
    expect(redraws.length).toBeLessThanOrEqual(Math.ceil(seconds * 10) + 2);
    expect(r.out.match(/Sent 2500 message/g)).toHaveLength(1);
    expect((await bus.abq(["ls", "q", "-c"])).stdout).toBe("2500\n");
  });

  it("-q: no progress and no time, just the result; --json: nothing but the JSON", async () => {
    const bus = await busWith(0);
    const file = batchFile(bus, 50);
    expect(onTerminal(bus, ["send", "q", "--batch", "-q"], file).out).toBe("Sent 50 message(s) to q\n");
    const json = onTerminal(bus, ["send", "q", "--batch", "--json"], file).out;
    expect(json).not.toMatch(/\r|Sent/);
    expect(json).not.toContain("\u001b");
    expect(json.trimEnd().split("\n")).toHaveLength(50);
  });

  it("purge, sweep and channel rm end with their counts and the time", async () => {
    const bus = await busWith(300);
    expect(onTerminal(bus, ["purge", "q", "--yes"]).out).toMatch(
      new RegExp(`Purged 300 message\\(s\\) from q into its archive (${TIME})\\n$`),
    );
    expect(onTerminal(bus, ["sweep"]).out).toMatch(
      new RegExp(`Nothing to do \\(1 queue\\(s\\) checked\\) (${TIME})\\n$`),
    );
    await sendJson(bus, ["q", "signal", "left behind"]);
    expect(onTerminal(bus, ["channel", "rm", "q", "--yes"]).out).toMatch(
      new RegExp(`Removed channel: q: 1 pending, 300 archived (${TIME})\\n$`),
    );
  });

  it("requeue prints its totals (with the time); -v a line per message first", async () => {
    const bus = await busWith(2);
    orphanClaims(bus, 2);
    const verbose = onTerminal(bus, ["requeue", "q", "--dead-owners", "--dry-run", "-v"]).out;
    expect(verbose.match(/^would-requeue +q +req_\w+ +owner process is gone/gm)).toHaveLength(2);
    expect(verbose).toMatch(new RegExp(`Dry run, nothing changed: 2 message\\(s\\): 2 would-requeue (${TIME})\\n$`));
    const r = onTerminal(bus, ["requeue", "q", "--dead-owners"]).out;
    expect(r).toMatch(new RegExp(`^2 message\\(s\\): 2 requeued (${TIME})\\n$`));
  });
});

/** Claims `n` messages of q from a shell that exits at once: their owner is gone. */
/** `n` claims owned by a worker process that then exits (a watcher that died): --dead-owners takes them. */
function orphanClaims(bus: Bus, n: number): void {
  const worker = `const { FsTransport } = await import(${JSON.stringify(pathToFileURL(LIB).href)});
    const t = new FsTransport({ home: process.env.ABQ_HOME, fsync: false });
    for (let i = 0; i < ${n}; i++) if (!(await t.claim("q"))) process.exit(3);
    await t.close();`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", worker], { env: bus.env, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

describe("piped", () => {
  it("no progress, no time, nothing on stderr: stdout as it always was", async () => {
    const bus = await busWith(0);
    const file = batchFile(bus, 300);
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" send q --batch < "${file}"`], {
      env: bus.env,
      encoding: "utf8",
    });
    expect(r).toMatchObject({ status: 0, stdout: "Sent 300 message(s) to q\n", stderr: "" });
    expect(await bus.abq(["purge", "q", "--yes"])).toMatchObject({
      code: 0,
      stdout: "Purged 300 message(s) from q into its archive\n",
      stderr: "",
    });
    expect(await bus.abq(["sweep"])).toMatchObject({
      code: 0,
      stdout: "Nothing to do (1 queue(s) checked)\n",
      stderr: "",
    });
    expect(await bus.abq(["channel", "rm", "q"])).toMatchObject({
      code: 0,
      stdout: "Removed channel: q\n",
      stderr: "",
    });
  });

  it("requeue: the totals by default, a line per message with -v; --json keeps its NDJSON", async () => {
    const bus = await busWith(2);
    orphanClaims(bus, 2);
    const dry = await bus.abq(["requeue", "q", "--dead-owners", "--dry-run"]);
    expect(dry.stdout.split("\n").filter((l) => l.startsWith("would-requeue"))).toHaveLength(2);
    const json = await bus.abq(["requeue", "q", "--dead-owners", "--dry-run", "--json"]);
    expect(
      json.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as { action: string }),
    ).toEqual([
      expect.objectContaining({ action: "would-requeue" }),
      expect.objectContaining({ action: "would-requeue" }),
    ]);
    const plain = await bus.abq(["requeue", "q", "--dead-owners"]);
    expect(plain).toMatchObject({ code: 0, stdout: "2 message(s): 2 requeued\n", stderr: "" });
    orphanClaims(bus, 1);
    const verbose = await bus.abq(["requeue", "q", "--dead-owners", "-v"]);
    expect(verbose.stdout).toMatch(/^requeued +q +req_\w+ +owner process is gone .*\n1 message\(s\): 1 requeued\n$/);
    expect((await bus.abq(["requeue", "q"])).stdout).toBe("Nothing requeued\n");
  });
});
