/**
 * The bulk operations work a slice at a time (src/spool/bulk-*.ts): `requeue` takes, rewrites, fsyncs and
 * moves a slice of claims together; `purge` and the sweep's expiry move a slice then fsync its folder.
 * Real SIGKILLs at random moments prove what that leaves: every message in exactly one state folder,
 * whole, its attempts counted at most once; and a rerun (with the sweep, for requeue) finishes the job.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, startNode, until, type Bus } from "./helpers.ts";

const N = 300;
const STATES = ["requests", "processing", "delayed", "dead", "archive", "expired"];
const dir = (bus: Bus, sub: string): string => join(bus.home, "channels", "q", sub);
const ls = (bus: Bus, sub: string): string[] => {
  try {
    return readdirSync(dir(bus, sub));
  } catch {
    return [];
  }
};

/** Sends `n` messages (`m0`…) in one batch; returns their ids. */
async function sendMany(bus: Bus, extra: Record<string, unknown> = {}, n = N): Promise<string[]> {
  await bus.abq(["channel", "create", "q"]);
  const input = Array.from({ length: n }, (_, i) => JSON.stringify({ type: "signal", content: `m${i}`, ...extra }));
  const r = await bus.abq(["send", "q", "--batch", "--json"], { input: input.join("\n") });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .map((l) => parseJson<{ id: string }>(l).id);
}

/** Every message file of `ids` by state folder; each must be present exactly once, and whole. */
function census(bus: Bus, ids: string[]): Map<string, { state: string; attempts: number }> {
  const where = new Map<string, { state: string; attempts: number }>();
  for (const state of STATES) {
    for (const name of ls(bus, state)) {
      const id = ids.find((i) => name.includes(i));
      if (id === undefined || name.includes("reason") || name.endsWith(".tmp")) continue;
      const m = parseJson<{ id: string; attempts?: number }>(readFileSync(join(dir(bus, state), name), "utf8"));
      expect(m.id).toBe(id);
      expect(where.get(id), `${id} is both in ${where.get(id)?.state} and in ${state}`).toBeUndefined();
      where.set(id, { state, attempts: m.attempts ?? 0 });
    }
  }
  for (const id of ids) expect(where.has(id), `${id} is somewhere`).toBe(true);
  return where;
}

/** Claims whose owner (an exited process on this host) wrote a lease, as a dead watcher leaves them. */
function deadClaims(bus: Bus, ids: string[]): void {
  const pid = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout);
  mkdirSync(dir(bus, "leases"), { recursive: true });
  const now = Date.now();
  for (const id of ids) {
    renameSync(join(dir(bus, "requests"), `${id}.json`), join(dir(bus, "processing"), `${id}.json`));
    const lease = { id, token: `t-${id}`, owner: { agent: "gone", pid, host: hostname() }, lease_s: 3600, attempt: 1 };
    const times = { claimed_at: new Date(now).toISOString(), deadline: new Date(now + 3_600_000).toISOString() };
    writeFileSync(join(dir(bus, "leases"), `${id}.json`), JSON.stringify({ ...lease, ...times }));
  }
}

/** Starts `abq <args>` and SIGKILLs it once `progressed()` (or it exits), after a random few ms more. */
async function killMidway(bus: Bus, args: string[], progressed: () => boolean): Promise<void> {
  const run = startNode([CLI, ...args], { cwd: bus.root, env: bus.env });
  let exited = false;
  void run.done.then(() => (exited = true));
  await until(() => exited || progressed(), 60_000);
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
  run.child.kill("SIGKILL");
  await run.done;
}

const target = (n: number): number => Math.floor(Math.random() * n * 0.9);

/**
 * Messages for requeue, purge and the sweep: they move a slice of 256 at once, so with only N a run is
 * one or two slices and over before a kill can land inside it; 2000 make eight.
 */
const SLICED_N = 2000;

/**
 * Runs `args` four times, each killed part way (at a random number of pending messages left), checking
 * after each kill that every message is in exactly one state; at least one kill must land mid-run.
 */
async function killRepeatedly(bus: Bus, ids: string[], args: string[]): Promise<void> {
  // The first kill lands mid-run for certain, between two slices (src/spool/faults.ts); the others at
  // random moments, inside a slice or between two, or after the end on a fast run.
  const first = await bus.abq(args, { env: { ABQ_CRASH_AT: `bulk:slice@${1 + Math.floor(Math.random() * 3)}` } });
  expect(first.signal, first.stderr).toBe("SIGKILL");
  census(bus, ids);
  const left: number[] = [ls(bus, "requests").length];
  for (let round = 1; round < 4; round++) {
    const goal = target(ids.length);
    await killMidway(bus, args, () => ls(bus, "requests").length <= goal);
    census(bus, ids);
    left.push(ls(bus, "requests").length);
  }
  expect(
    left.some((n) => n > 0 && n < ids.length),
    `pending after each kill: ${left.join(", ")}`,
  ).toBe(true);
}

describe("bulk operations killed at random moments", () => {
  it(
    "requeue --dead-owners: each claim once, counted at most once; a rerun and the sweep finish",
    { timeout: 180_000 },
    async () => {
      const bus = makeBus();
      const ids = await sendMany(bus, {}, SLICED_N);
      deadClaims(bus, ids);
      const claims = (): number => ls(bus, "processing").filter((n) => !n.startsWith(".")).length;
      // The first kill lands mid-run for certain, between two slices (as in killRepeatedly): with the
      // 32-thread pool a requeue of 2000 can finish before a timed kill lands.
      const slice = 1 + Math.floor(Math.random() * 3);
      const first = await bus.abq(["requeue", "q", "--dead-owners"], { env: { ABQ_CRASH_AT: `bulk:slice@${slice}` } });
      expect(first.signal, first.stderr).toBe("SIGKILL");
      for (const { attempts } of census(bus, ids).values()) expect(attempts).toBeLessThanOrEqual(1);
      const left: number[] = [claims()];
      for (let round = 1; round < 4; round++) {
        const goal = target(ids.length);
        await killMidway(bus, ["requeue", "q", "--dead-owners"], () => claims() <= goal);
        for (const { attempts } of census(bus, ids).values()) expect(attempts).toBeLessThanOrEqual(1);
        left.push(claims());
      }
      expect(
        left.some((n) => n > 0 && n < ids.length),
        `claims left after each kill: ${left.join(", ")}`,
      ).toBe(true);
      // The rerun takes what still has a lease; a claim whose lease was revoked just before the kill is taken
      // by age; half-done retries (dot-names) are restored by the sweep once a minute old.
      expect((await bus.abq(["requeue", "q", "--dead-owners"])).code).toBe(0);
      expect((await bus.abq(["requeue", "q", "--older-than", "0s"])).code).toBe(0);
      const old = new Date(Date.now() - 120_000);
      for (const n of ls(bus, "processing")) utimesSync(join(dir(bus, "processing"), n), old, old);
      expect((await bus.abq(["sweep", "q"])).code).toBe(0);
      const final = census(bus, ids);
      for (const [id, { state, attempts }] of final) {
        expect(["requests", "delayed"], id).toContain(state);
        expect(attempts).toBeLessThanOrEqual(1);
      }
      // Not asserted: that some message ended counted. When every kill lands between a slice's take and
      // its renames (likely on a loaded machine), all claims are restored uncounted, which is correct; the
      // next test shows the count being made.
      expect(ls(bus, "leases").filter((n) => !n.startsWith(".revoked-"))).toEqual([]);
    },
  );

  it("requeue killed right after taking a claim (release:taken): the rest untouched, the sweep restores it", async () => {
    const bus = makeBus();
    const ids = await sendMany(bus);
    deadClaims(bus, ids);
    const r = await bus.abq(["requeue", "q", "--dead-owners"], { env: { ABQ_CRASH_AT: "release:taken" } });
    expect(r.signal).toBe("SIGKILL");
    expect(ls(bus, "processing").filter((n) => n.startsWith(".retry-"))).toHaveLength(1);
    // The others were never touched: still claimed, uncounted.
    for (const { state, attempts } of census(bus, ids).values())
      expect({ state, attempts }).toEqual({ state: "processing", attempts: 0 });
    const old = new Date(Date.now() - 120_000);
    for (const n of ls(bus, "processing")) utimesSync(join(dir(bus, "processing"), n), old, old);
    expect((await bus.abq(["sweep", "q"])).code).toBe(0);
    const where = census(bus, ids);
    expect(where.get(ids[0]!)).toEqual({ state: "requests", attempts: 0 }); // uncounted: never rewritten
    for (const id of ids.slice(1)) expect(where.get(id)).toEqual({ state: "delayed", attempts: 1 }); // the sweep's requeue
  });

  it("purge: each message pending or archived, once; a rerun archives the rest", { timeout: 120_000 }, async () => {
    const bus = makeBus();
    const ids = await sendMany(bus, {}, SLICED_N);
    await killRepeatedly(bus, ids, ["purge", "q", "--yes"]);
    const r = await bus.abq(["purge", "q", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    for (const { state } of census(bus, ids).values()) expect(state).toBe("archive");
  });

  it(
    "sweep of expired messages: each pending or expired, once; a rerun expires the rest",
    { timeout: 120_000 },
    async () => {
      const bus = makeBus();
      const ids = await sendMany(bus, { ttl: 1 }, SLICED_N);
      await new Promise((r) => setTimeout(r, 2100));
      await killRepeatedly(bus, ids, ["sweep", "q"]);
      const r = await bus.abq(["sweep", "q", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      for (const { state } of census(bus, ids).values()) expect(state).toBe("expired");
      const reasons = ls(bus, "expired").filter((n) => n.endsWith(".reason.json"));
      expect(reasons.length).toBeGreaterThan(ids.length - 5); // at most one per killed run may lack its reason
    },
  );

  it(
    "recv through a run of expired messages: they go in bulk, each pending or expired once, even when killed",
    { timeout: 120_000 },
    async () => {
      const bus = makeBus();
      const ids = await sendMany(bus, { ttl: 1 }, SLICED_N);
      const live = await bus.abq(["send", "q", "command", "the live one", "--json"]);
      expect(live.code, live.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 2100));
      await killRepeatedly(bus, ids, ["recv", "q"]);
      // A rerun finishes the run and hands out the live one (unless a run before the kill already did).
      const r = await bus.abq(["recv", "q", "--json"]);
      expect([0, 4], r.stderr).toContain(r.code);
      for (const { state } of census(bus, ids).values()) expect(state).toBe("expired");
      const liveId = parseJson<{ id: string }>(live.stdout).id;
      expect(ls(bus, "processing")).toContain(`${liveId}.json`);
    },
  );

  it("recv through a run of expired messages, not killed: says how many, with a reason and an event each", async () => {
    const bus = makeBus();
    const ids = await sendMany(bus, { ttl: 1 }, 600);
    expect((await bus.abq(["send", "q", "command", "the live one"])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 2100));
    const r = await bus.abq(["recv", "q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("the live one");
    expect(r.stderr).toContain("expired 600 message(s)");
    for (const { state } of census(bus, ids).values()) expect(state).toBe("expired");
    expect(ls(bus, "expired").filter((n) => n.endsWith(".reason.json"))).toHaveLength(600);
    const events = readFileSync(join(dir(bus, "."), "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => parseJson<{ event: string; id: string }>(l));
    const expired = events.filter((e) => e.event === "expired").map((e) => e.id);
    expect(expired.sort()).toEqual([...ids].sort());
  });
});
