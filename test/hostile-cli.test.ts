/**
 * Hostile use of the CLI: interrupts, absurd numbers, huge stdin, readers that leave, bad batch lines,
 * bad ids, terminal escapes. Each runs the built CLI as a child process on its own bus and checks the exit
 * code, that the complaint is one line, and that what was sent before a failure is still there.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type Bus, CLI, makeBus, type RunResult, startNode, until, untilTailIsLive } from "./helpers.ts";

async function busWith(...channels: string[]): Promise<Bus> {
  const bus = makeBus();
  for (const c of channels) expect((await bus.abq(["channel", "create", c])).code).toBe(0);
  return bus;
}

function oneLine(r: RunResult): string {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines).toHaveLength(1);
  return lines[0] ?? "";
}

/** Runs `sh -c script` with the bus's env; for pipelines (`| head -1`). */
function sh(bus: Bus, script: string): Promise<RunResult> {
  return startNode(
    ["-e", `require("child_process").execFileSync("sh",["-c",process.argv[1]],{stdio:"inherit"})`, script],
    {
      env: { ...bus.env, ABQ: `${process.execPath} ${CLI}` },
      cwd: bus.root,
    },
  ).done;
}

describe("interrupts", () => {
  for (const [args, sig, code] of [
    [["recv", "q", "--wait", "--timeout", "100"], "SIGINT", 130],
    [["wait", "q", "--timeout", "100"], "SIGTERM", 143],
    [["ask", "q", "command", "hi", "--timeout", "100"], "SIGINT", 130],
  ] as const) {
    it(`abq ${args[0]} ends with ${code} on ${sig}, not as a timeout`, async () => {
      const bus = await busWith("q");
      const { child, done } = startNode([CLI, ...args], { env: bus.env, cwd: bus.root });
      // The command is waiting once it has set up its listeners; give it a moment to get there.
      await new Promise((r) => setTimeout(r, 800));
      child.kill(sig);
      const r = await done;
      expect(r.code).toBe(code);
      expect(oneLine(r)).toMatch(/interrupted/);
      expect(r.stderr).not.toMatch(/within/);
    });
  }
});

it("a timed-out ask whose message is being handled does not suggest cancel", async () => {
  const bus = await busWith("q");
  const asking = bus.abq(["ask", "q", "command", "hi", "--timeout", "2"]);
  await until(async () => (await bus.abq(["recv", "q"])).code === 0);
  const r = await asking;
  expect(r.code).toBe(5);
  const line = oneLine(r);
  expect(line).toMatch(/being handled by test\/agent/);
  expect(line).toMatch(/abq show req_/);
  expect(line).not.toMatch(/abq cancel/);
});

describe("numeric options have a ceiling", () => {
  for (const args of [
    ["send", "q", "signal", "hi", "--ttl", "1e20"],
    ["watch", "q", "-H", "true", "-j", "1e20"],
    ["recv", "q", "--wait", "--timeout", "1e20"],
    ["ls", "q", "--limit", "1e9"],
    ["release", "q", "req_01", "--delay", "99999999d"],
    ["requeue", "--older-than", "99999999d"],
    ["channel", "config", "q", "--lease", "1e20"],
    ["channel", "config", "q", "--max-attempts", "1e20"],
    ["channel", "config", "q", "--backoff", "1e20"],
  ]) {
    it(args.join(" "), async () => {
      const bus = await busWith("q");
      const r = await bus.abq(args);
      expect(r.code).toBe(2);
      const flag = args[args.length - 2] ?? ""; // the option whose value is too big
      expect(oneLine(r)).toMatch(new RegExp(`${flag}.*maximum`));
    });
  }
});

describe("stdin is capped while it streams", () => {
  /** Pipes 50 MB from a child writer into `abq args`; the writer reports how much it got to write. */
  async function flood(bus: Bus, args: string[]): Promise<{ r: RunResult; written: number }> {
    const writer = spawn(process.execPath, [
      "-e",
      `const b=Buffer.alloc(1<<20,10+87);let n=0;process.stdout.on("error",()=>{process.stderr.write(String(n));process.exit(0)});
       (function w(){while(n<50){n++;if(!process.stdout.write(b))return process.stdout.once("drain",w)}process.stderr.write(String(n))})()`,
    ]);
    let written = "";
    writer.stderr.setEncoding("utf8").on("data", (d: string) => (written += d));
    const abq = spawn(process.execPath, [CLI, ...args], {
      // Content over ABQ_MAX_BYTES spills into an attachment; the attachment cap is what stops a flood.
      env: { ...bus.env, ABQ_MAX_BYTES: "100000", ABQ_MAX_ATTACHMENT_BYTES: "1000000" },
      stdio: [writer.stdout, "pipe", "pipe"],
    });
    // Only abq may hold the read end, so the writer gets EPIPE once abq closes it.
    writer.stdout.destroy();
    let stdout = "";
    let stderr = "";
    abq.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    abq.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((res) => abq.on("close", res));
    await new Promise((res) => writer.on("close", res));
    return { r: { code, signal: null, stdout, stderr }, written: Number(written) };
  }

  const ATTACHMENT_CAP = /cap of 1000000 bytes \(raise ABQ_MAX_ATTACHMENT_BYTES/;
  for (const [args, cap] of [
    [["send", "q", "signal", "-"], ATTACHMENT_CAP],
    [["send", "q", "--batch"], /cap of 100000 bytes \(ABQ_MAX_BYTES\)/], // a batch line never spills
  ] as const) {
    it(`abq ${args.join(" ")} stops at its cap`, async () => {
      const bus = await busWith("q");
      const { r, written } = await flood(bus, [...args]);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toMatch(cap);
      expect(written).toBeLessThan(50); // abq closed the pipe early: the writer got EPIPE
      expect((await bus.abq(["ls", "q", "--count"])).stdout.trim()).toBe("0");
    });
  }

  it("respond -r - stops at the attachment cap", async () => {
    const bus = await busWith("q");
    await bus.abq(["send", "q", "command", "x"]);
    const id = (JSON.parse((await bus.abq(["recv", "q", "--json"])).stdout) as { id: string }).id;
    const { r, written } = await flood(bus, ["respond", "q", id, "-r", "-"]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(ATTACHMENT_CAP);
    expect(written).toBeLessThan(50);
  });
});

it("send --batch --json into a reader that leaves ends quietly", async () => {
  const bus = await busWith("q");
  const r = await sh(
    bus,
    `${process.execPath} -e 'process.stdout.write("{\\"type\\":\\"signal\\"}\\n".repeat(3000))' | $ABQ send q --batch --json | head -1 >/dev/null`,
  );
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
});

describe("batch errors name the line and what was sent", () => {
  for (const [bad, code, what] of [
    ['{"type":"signal","channel":"../x"}', 2, /line 3: .*2 message\(s\) before it were sent/],
    ['{"type":"signal","channel":"nope"}', 3, /line 3: .*nope.*2 message\(s\) before it were sent/],
    ["{not json", 2, /line 3: not JSON.*2 message\(s\) before it were sent/],
  ] as const) {
    it(bad, async () => {
      const bus = await busWith("q");
      const input = `{"type":"signal","content":"1"}\n{"type":"signal","content":"2"}\n${bad}\n{"type":"signal"}\n`;
      const r = await bus.abq(["send", "q", "--batch"], { input });
      expect(r.code).toBe(code);
      expect(oneLine(r)).toMatch(what);
      expect((await bus.abq(["ls", "q", "--count"])).stdout.trim()).toBe("2");
    });
  }
});

describe("invalid ids are usage errors", () => {
  for (const args of [
    ["requeue", "--id", "../../x"],
    ["requeue", "q", "--id", "req_01", "nope"],
    ["show", "../x"],
    ["trace", "../x"],
    ["cancel", "q", "../x"],
    ["respond", "q", "../x", "-r", "x"],
    ["ack", "q", "../x"],
    ["release", "q", "../x"],
    ["term", "q", "../x", "-r", "x"],
  ]) {
    it(args.join(" "), async () => {
      const bus = await busWith("q");
      const r = await bus.abq(args);
      expect(r.code).toBe(2);
      expect(oneLine(r)).toMatch(/is not a message id/);
    });
  }
});

describe("terminal escapes are shown, not obeyed", () => {
  const evil = "hi\u001b]0;pwned\u0007\u001b[2J\u202eend";
  const clean = (text: string): void => {
    expect(text).toContain("pwned");
    // eslint-disable-next-line no-control-regex -- raw control characters are what must not appear
    expect(text).not.toMatch(/[\u001b\u0007\u202e]/);
  };

  it("recv, show, ls, check --inbox, tail escape; --json is raw", async () => {
    const bus = await busWith("q");
    const sent = (JSON.parse((await bus.abq(["send", "q", "command", evil, "--json"])).stdout) as { id: string }).id;
    clean((await bus.abq(["check", "--inbox", "q"])).stdout);
    clean((await bus.abq(["ls", "q"])).stdout);
    const tail = startNode([CLI, "tail", "q"], { env: bus.env, cwd: bus.root });
    let out = "";
    tail.child.stdout!.on("data", (d: string) => (out += d));
    const signal = async (content: string) =>
      (JSON.parse((await bus.abq(["send", "q", "signal", content, "--json"])).stdout) as { id: string }).id;
    await untilTailIsLive(
      () => out,
      (i) => signal(`probe ${i}`),
    );
    const evilSignal = await signal(evil);
    await until(() => out.includes(evilSignal), 15_000); // the tail printed it: what is checked is not empty
    tail.child.kill("SIGINT");
    clean((await tail.done).stdout);
    clean((await bus.abq(["recv", "q"])).stdout);
    await bus.abq(["respond", "q", sent, "-s", "error", "-e", evil, "-r", evil]);
    clean((await bus.abq(["show", sent])).stdout);
    const found = JSON.parse((await bus.abq(["show", sent, "--json"])).stdout) as { request: { content: string } };
    expect(found.request.content).toBe(evil);
  });
});
