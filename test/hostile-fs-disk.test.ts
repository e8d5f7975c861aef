/**
 * A full disk: a bus on a 1 MiB tmpfs the test mounts (as root; skipped, and says why, otherwise), filled
 * to the last block. Failed writes must say the disk is full (exit 6, one line), leave no staging or
 * empty reason files behind, and keep every message sent before the fault where it can be found.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { makeBus, parseJson, tempDir, type Bus } from "./helpers.ts";

const PATH = `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin`;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stderr.write("hostile-fs-disk skipped: mounting a small tmpfs needs root\n");

/** A bus whose home is on a fresh 1 MiB tmpfs, unmounted when the test ends. */
function busOnTinyDisk(): { bus: Bus; home: string; fill: () => void; free: () => void } {
  const mnt = join(tempDir(), "mnt");
  mkdirSync(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], { env: { ...process.env, PATH } });
  onTestFinished(() => void execFileSync("umount", ["-l", mnt], { env: { ...process.env, PATH } }));
  const home = join(mnt, "home");
  const filler = join(mnt, "filler");
  const fill = (): void => {
    try {
      writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024, 120)); // more than fits: stops at ENOSPC
    } catch {
      // ENOSPC: the disk is full now, which is the point
    }
  };
  return { bus: makeBus({ ABQ_HOME: home }), home, fill, free: () => rmSync(filler, { force: true }) };
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

describe.skipIf(!isRoot)("a full disk", () => {
  it("send and respond fail with exit 6 saying the disk is full, and leave no staging file", async () => {
    const { bus, home, fill, free } = busOnTinyDisk();
    expect((await bus.abq(["channel", "create", "c"])).code).toBe(0);
    const sent: string[] = [];
    for (const n of [1, 2, 3])
      sent.push(parseJson((await bus.abq(["send", "c", "signal", `m${n}`, "--json"])).stdout).id as string);
    const claimed = parseJson((await bus.abq(["recv", "c", "--json"])).stdout).id as string;
    const tmp = join(home, "channels", "c", "tmp");
    fill();

    const send = await bus.abq(["send", "c", "signal", "x".repeat(8192)]);
    expect(send.code).toBe(6);
    expect(send.stderr.trim().split("\n")).toHaveLength(1);
    expect(send.stderr).toMatch(/disk is full/);
    expect(files(tmp)).toEqual([]);

    const respond = await bus.abq(["respond", "c", claimed, "--result", "y".repeat(8192)]);
    expect(respond.code).toBe(6);
    expect(respond.stderr.trim().split("\n")).toHaveLength(1);
    expect(respond.stderr).toMatch(/disk is full/);
    expect(files(tmp)).toEqual([]);
    expect(files(join(home, "channels", "c", "processing"))).toContain(`${claimed}.json`);

    free();
    expect((await bus.abq(["respond", "c", claimed, "--result", "done"])).code).toBe(0);
    const pending = files(join(home, "channels", "c", "requests"));
    for (const id of sent.filter((i) => i !== claimed)) expect(pending).toContain(`${id}.json`);
    expect(files(join(home, "channels", "c", "archive"))).toContain(`${claimed}_request.json`);
  });

  it("a sweep retry on a full disk gives the message back, and an ack writes no empty reason", async () => {
    const { bus, home, fill, free } = busOnTinyDisk();
    expect((await bus.abq(["channel", "create", "c"])).code).toBe(0);
    expect((await bus.abq(["channel", "create", "d"])).code).toBe(0);
    // Big enough that rewriting it (attempts + 1) needs more room than the revoked lease frees.
    const a = parseJson((await bus.abq(["send", "c", "signal", "a".repeat(32_768), "--json"])).stdout).id as string;
    const b = parseJson((await bus.abq(["send", "c", "signal", "b", "--json"])).stdout).id as string;
    expect(parseJson((await bus.abq(["recv", "c", "--json"])).stdout).id).toBe(a);
    expect(parseJson((await bus.abq(["recv", "c", "--json"])).stdout).id).toBe(b);
    const ch = join(home, "channels", "c");
    // `recv` names its caller (this test) as the owner; name a process that has exited, so the sweep takes it.
    const leaseFile = join(ch, "leases", `${a}.json`);
    const lease = parseJson<{ owner: { pid: number } }>(readFileSync(leaseFile, "utf8"));
    lease.owner.pid = spawnSync("true").pid!;
    writeFileSync(leaseFile, JSON.stringify(lease));
    fill();

    const ack = await bus.abq(["ack", "c", b]);
    expect(ack.code).toBe(6);
    expect(ack.stderr.trim().split("\n")).toHaveLength(1);
    for (const f of files(join(ch, "archive"))) expect(statSync(join(ch, "archive", f)).size, f).toBeGreaterThan(0);

    const sweep = await bus.abq(["sweep", "--json"]);
    const reports = sweep.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<{ channel: string; error?: { message: string } }>(l));
    expect(reports.find((r) => r.channel === "c")?.error?.message).toMatch(/disk is full/);
    expect(reports.find((r) => r.channel === "d")?.error).toBeUndefined();
    expect(files(join(ch, "processing")).filter((f) => f.startsWith("."))).toEqual([]);
    expect(files(join(ch, "requests"))).toContain(`${a}.json`);
    expect(files(join(ch, "tmp"))).toEqual([]);
    for (const f of files(join(ch, "archive"))) expect(statSync(join(ch, "archive", f)).size, f).toBeGreaterThan(0);

    free();
    expect(files(join(ch, "archive"))).toContain(`${b}_request.json`);
    expect((await bus.abq(["sweep"])).code).toBe(0);
    expect(parseJson((await bus.abq(["recv", "c", "--json"])).stdout).id).toBe(a);
  });
});
