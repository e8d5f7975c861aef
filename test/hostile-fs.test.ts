/**
 * Hostile folders: a file where a folder should be, a home on a kernel pseudo-filesystem, symbolic links
 * and open modes at every level of the bus, a planted answer slot, a channel removed under a running
 * handler. Each is refused or reported in one line, and nothing sent before the fault is lost.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson, until, type Bus } from "./helpers.ts";

const chan = (bus: Bus, ...rest: string[]): string => join(bus.home, "channels", ...rest);
const oneLine = (stderr: string): void => expect(stderr.trim().split("\n"), stderr).toHaveLength(1);

async function sendId(bus: Bus, channel: string, content: string): Promise<string> {
  const r = await bus.abq(["send", channel, "signal", content, "--json", "--create"]);
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r.stdout).id as string;
}

/** Makes the lease of a claimed message name a process that has exited, as if its worker died. */
function orphan(bus: Bus, channel: string, id: string): void {
  const file = chan(bus, channel, "leases", `${id}.json`);
  const lease = parseJson<{ owner: { pid: number } }>(readFileSync(file, "utf8"));
  lease.owner.pid = spawnSync("true").pid!;
  writeFileSync(file, JSON.stringify(lease));
}

describe("one bad channel does not stop the sweep", () => {
  it("a file where leases/ should be: sweep reports it and sweeps the others; check reports it", async () => {
    const bus = makeBus();
    await sendId(bus, "bad", "x");
    const lost = await sendId(bus, "good", "y");
    expect((await bus.abq(["recv", "good"])).code).toBe(0);
    orphan(bus, "good", lost);
    rmSync(chan(bus, "bad", "leases"), { recursive: true, force: true });
    writeFileSync(chan(bus, "bad", "leases"), "not a folder");

    // The broken queue is reported (one stderr line, exit 6); the others are swept all the same.
    const sweep = await bus.abq(["sweep", "--json"]);
    expect(sweep.code, sweep.stderr).toBe(6);
    expect(sweep.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^abq: bad: .*leases/)]);
    const reports = sweep.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<{ channel: string; error?: { message: string }; requeued: unknown[] }>(l));
    expect(reports.find((r) => r.channel === "bad")?.error?.message).toMatch(/leases/);
    expect(reports.find((r) => r.channel === "good")?.requeued).toHaveLength(1);
    expect(readdirSync(chan(bus, "good", "delayed"))).toContain(`${lost}.json`);

    const check = await bus.abq(["check"]);
    expect(check.code).not.toBe(6);
    expect(check.stdout + check.stderr).toMatch(/bad/);
    expect(readdirSync(chan(bus, "bad", "requests"))).toHaveLength(1);
  });
});

describe("a home on a kernel pseudo-filesystem is refused", () => {
  for (const home of ["/proc/abq-test", "/sys/abq-test", "/dev/abq-test"]) {
    it(`ABQ_HOME=${home}: init and send --create refuse in one line, at once`, async () => {
      const bus = makeBus({ ABQ_HOME: home });
      for (const args of [["init"], ["send", "c", "signal", "x", "--create"]]) {
        const r = await bus.abq(args, { timeoutMs: 10_000 });
        expect(r.signal, "it spun until killed").toBeNull();
        expect(r.code).toBe(9);
        expect(r.stderr).toMatch(/pseudo-filesystem|cannot hold files/);
        oneLine(r.stderr);
      }
      expect(existsSync(home)).toBe(false);
    });
  }
});

describe("no symbolic links and no open modes at any level", () => {
  const linkAway = (bus: Bus, path: string): string => {
    const real = join(bus.root, `elsewhere-${path.split("/").pop()}`);
    renameSync(path, real);
    symlinkSync(real, path);
    return real;
  };

  for (const sub of ["leases", "tmp"]) {
    it(`a channel's ${sub}/ that is a link: recv is refused and writes nothing through it`, async () => {
      const bus = makeBus();
      const id = await sendId(bus, "c", "keep me");
      mkdirSync(chan(bus, "c", sub), { recursive: true });
      const real = linkAway(bus, chan(bus, "c", sub));
      const r = await bus.abq(["recv", "c"]);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/is a symbolic link/);
      oneLine(r.stderr);
      expect(readdirSync(real)).toEqual([]);
      expect(readdirSync(chan(bus, "c", "requests"))).toEqual([`${id}.json`]);
    });
  }

  it("channels/ that is a link: send is refused", async () => {
    const bus = makeBus();
    await sendId(bus, "c", "keep me");
    const real = linkAway(bus, join(bus.home, "channels"));
    const r = await bus.abq(["send", "c", "signal", "y"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/is a symbolic link/);
    expect(readdirSync(join(real, "c", "requests"))).toHaveLength(1);
  });

  it("the home's agents/ that is a link: heartbeat is refused and writes nothing through it", async () => {
    const bus = makeBus();
    await sendId(bus, "c", "x");
    mkdirSync(join(bus.home, "agents"));
    const real = linkAway(bus, join(bus.home, "agents"));
    const r = await bus.abq(["heartbeat", "c"]);
    expect(r.code).toBe(9);
    oneLine(r.stderr);
    expect(readdirSync(real)).toEqual([]);
  });

  it("a world-writable channels/ is refused; channel create in a world-writable home is refused", async () => {
    const bus = makeBus();
    await sendId(bus, "c", "keep me");
    chmodSync(join(bus.home, "channels"), 0o777);
    const send = await bus.abq(["send", "c", "signal", "y"]);
    expect(send.code).toBe(9);
    expect(send.stderr).toMatch(/writable by everyone/);
    chmodSync(join(bus.home, "channels"), 0o700);
    chmodSync(bus.home, 0o777);
    const create = await bus.abq(["channel", "create", "d"]);
    expect(create.code).toBe(9);
    expect(create.stderr).toMatch(/writable by everyone/);
    oneLine(create.stderr);
    expect(existsSync(chan(bus, "d"))).toBe(false);
    chmodSync(bus.home, 0o700);
    expect(readdirSync(chan(bus, "c", "requests"))).toHaveLength(1);
  });
});

describe("the answer slot", () => {
  it("a symbolic link at responses/<id>.json is not an answer: refused, the request stays claimed", async () => {
    const bus = makeBus();
    const id = await sendId(bus, "c", "x");
    expect((await bus.abq(["recv", "c"])).code).toBe(0);
    const decoy = join(bus.root, "decoy.json");
    writeFileSync(decoy, "{}");
    symlinkSync(decoy, chan(bus, "c", "responses", `${id}.json`));
    const r = await bus.abq(["respond", "c", id, "--result", "the real answer"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/symbolic link/);
    oneLine(r.stderr);
    expect(readdirSync(chan(bus, "c", "processing"))).toContain(`${id}.json`);
    expect(existsSync(chan(bus, "c", "archive", `${id}_request.json`))).toBe(false);
    rmSync(chan(bus, "c", "responses", `${id}.json`));
    expect((await bus.abq(["respond", "c", id, "--result", "the real answer"])).code).toBe(0);
  });
});

describe("a channel removed while its handler runs", () => {
  it("the watcher does not re-create it; the channel stays gone and can be made anew", async () => {
    const bus = makeBus();
    await sendId(bus, "c", "x");
    const handler = join(bus.root, "slow.sh");
    const started = join(bus.root, "started");
    writeFileSync(handler, `#!/bin/sh\ntouch ${started}\nsleep 1\necho done\n`, { mode: 0o755 });
    const watch = bus.abq(["watch", "c", "--handler", handler, "--once"]);
    await until(() => existsSync(started));
    expect((await bus.abq(["channel", "rm", "c", "--yes"])).code).toBe(0);
    await watch;
    expect(existsSync(chan(bus, "c"))).toBe(false);
    const send = await bus.abq(["send", "c", "signal", "y"]);
    expect(send.code).toBe(3);
    expect(send.stderr).toMatch(/no channel 'c'/);
    expect((await bus.abq(["send", "c", "signal", "y", "--create"])).code).toBe(0);
  });
});
