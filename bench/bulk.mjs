// Bulk operations (issue 18): `abq requeue --dead-owners` of N claims whose owner process has exited,
// `abq purge` of N pending messages, `abq sweep` of N pending messages past their TTL, and a `recv` that
// meets N expired messages before a live one; each timed as one CLI call, durable (fsync on, the default).
// Reported as messages per second; the targets are the (requeue ≥ 2 000, purge and sweep-expire
// ≥ 5 000 msg/s); the recv figure is reported with no target. Each is shown next to its floor, the same
// file work in plain Node (bench/floor-requeue.cjs, floor-bulk.cjs) on a channel seeded alike.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import {
  ROOT,
  abq,
  cleanEnv,
  cleanup,
  loadLib,
  pick,
  result,
  round,
  runDirect,
  runTimed,
  seedPending,
  sleep,
  tmpHome,
} from "./lib.mjs";

/** A pid that no process has now: a child that has exited. */
function deadPid() {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

/** Turns every pending message of `channel` into a claim whose lease names an exited process here. */
function claimWithDeadOwners(home, channel) {
  const dir = join(home, "channels", channel);
  mkdirSync(join(dir, "leases"), { recursive: true });
  const owner = { agent: "bench/gone", pid: deadPid(), host: hostname() };
  const now = Date.now();
  for (const name of readdirSync(join(dir, "requests"))) {
    const id = name.replace(/\.json$/, "");
    renameSync(join(dir, "requests", name), join(dir, "processing", name));
    const lease = {
      id,
      token: `tok-${id}`,
      owner,
      claimed_at: new Date(now).toISOString(),
      deadline: new Date(now + 3_600_000).toISOString(),
      lease_s: 3600,
      attempt: 1,
    };
    writeFileSync(join(dir, "leases", `${id}.json`), JSON.stringify(lease), { mode: 0o600 });
  }
}

/** `n` pending messages in `channel` whose TTL (1 s) runs out while we wait, seeded as seedPending does. */
async function seedExpiring(lib, home, channel, n) {
  const dir = join(home, "channels", channel);
  const base = {
    version: lib.PROTOCOL_VERSION,
    type: "signal",
    from: { agent: "bench/seed", pid: process.pid, pwd: ROOT },
  };
  for (let i = 0; i < n; i++) {
    const id = lib.newId();
    const m = { id, ...base, to: channel, content: "x", timestamp: lib.formatTimestamp(), ttl: 1 };
    const tmp = join(dir, "tmp", `${id}.json.seed.tmp`);
    writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, join(dir, "requests", `${id}.json`));
  }
  await sleep(2100); // past the TTL, counted in whole seconds from a timestamp with ms precision
}

/**
 * The same file work in plain Node on a channel seeded alike: the disk's floor. requeue's has a pool of
 * 32 threads for its grouped fsyncs, as the CLI gives `abq requeue` (bin/abq.ts).
 */
async function floorRun(mode, dir, n) {
  const [script, args, env] =
    mode === "requeue"
      ? ["floor-requeue.cjs", [dir], cleanEnv({ UV_THREADPOOL_SIZE: "32" })]
      : ["floor-bulk.cjs", [mode, dir], cleanEnv()];
  const r = await runTimed(process.execPath, [join(ROOT, "bench", script), ...args], { env });
  if (r.code !== 0 || r.stdout.trim() !== String(n)) throw new Error(`${script} ${mode}: ${r.stdout}${r.stderr}`);
  return r.ms;
}

async function timed(args, env, expectOut) {
  const r = await abq(args, { env });
  if (r.code !== 0 || !expectOut.test(r.stdout + r.stderr)) {
    throw new Error(`abq ${args.join(" ")}: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
  }
  return r.ms;
}

export async function run() {
  const lib = await loadLib();
  const n = pick(20_000, 2_000);
  const home = tmpHome("bulk");
  try {
    await lib.init({ home });
    const env = cleanEnv({ ABQ_HOME: home });
    await lib.createChannel({ home, name: "claims" });
    seedPending(lib, home, "claims", n);
    claimWithDeadOwners(home, "claims");
    const requeueMs = await timed(["requeue", "claims", "--dead-owners"], env, new RegExp(`${n}`));
    await lib.createChannel({ home, name: "claims-floor" });
    seedPending(lib, home, "claims-floor", n);
    claimWithDeadOwners(home, "claims-floor");
    const requeueFloorMs = await floorRun("requeue", join(home, "channels", "claims-floor"), n);
    await lib.createChannel({ home, name: "pending" });
    seedPending(lib, home, "pending", n);
    const purgeMs = await timed(["purge", "pending", "--yes"], env, new RegExp(`${n}`));
    await lib.createChannel({ home, name: "pending-floor" });
    seedPending(lib, home, "pending-floor", n);
    const purgeFloorMs = await floorRun("purge", join(home, "channels", "pending-floor"), n);
    await lib.createChannel({ home, name: "stale" });
    await seedExpiring(lib, home, "stale", n);
    const sweepMs = await timed(["sweep", "stale"], env, new RegExp(`${n}`));
    await lib.createChannel({ home, name: "stale-floor" });
    await seedExpiring(lib, home, "stale-floor", n);
    const sweepFloorMs = await floorRun("expire", join(home, "channels", "stale-floor"), n);
    await lib.createChannel({ home, name: "behind" });
    await seedExpiring(lib, home, "behind", n);
    seedPending(lib, home, "behind", 1);
    const recvMs = await timed(["recv", "behind"], env, new RegExp(`expired ${n} message`));
    const rate = (ms) => (n * 1000) / ms;
    return [
      result(`requeue of ${n / 1000}k dead-owner claims`, {
        value: round(rate(requeueMs), 0),
        unit: "msg/s",
        target: "≥ 2000 msg/s",
        pass: rate(requeueMs) >= 2000,
        display: `${rate(requeueMs).toFixed(0)} msg/s (${(requeueMs / 1000).toFixed(1)} s); floor ${rate(requeueFloorMs).toFixed(0)} msg/s`,
        details: {
          messages: n,
          ms: round(requeueMs),
          floor_ms: round(requeueFloorMs),
          floor_msg_s: round(rate(requeueFloorMs), 0),
        },
        note: "floor: the same lease reads, renames, staged copies and grouped fsyncs in plain Node (bench/floor-requeue.cjs)",
      }),
      result(`purge of ${n / 1000}k pending`, {
        value: round(rate(purgeMs), 0),
        unit: "msg/s",
        target: "≥ 5000 msg/s",
        pass: rate(purgeMs) >= 5000,
        display: `${rate(purgeMs).toFixed(0)} msg/s (${(purgeMs / 1000).toFixed(1)} s); floor ${rate(purgeFloorMs).toFixed(0)} msg/s`,
        details: {
          messages: n,
          ms: round(purgeMs),
          floor_ms: round(purgeFloorMs),
          floor_msg_s: round(rate(purgeFloorMs), 0),
        },
        note: "floor: the same renames, reason files and folder fsyncs in plain Node (bench/floor-bulk.cjs)",
      }),
      result(`sweep-expire of ${n / 1000}k pending past their TTL`, {
        value: round(rate(sweepMs), 0),
        unit: "msg/s",
        target: "≥ 5000 msg/s",
        pass: rate(sweepMs) >= 5000,
        display: `${rate(sweepMs).toFixed(0)} msg/s (${(sweepMs / 1000).toFixed(1)} s); floor ${rate(sweepFloorMs).toFixed(0)} msg/s`,
        details: {
          messages: n,
          ms: round(sweepMs),
          floor_ms: round(sweepFloorMs),
          floor_msg_s: round(rate(sweepFloorMs), 0),
        },
        note: "floor: the same reads, renames, reason files and folder fsyncs in plain Node (bench/floor-bulk.cjs)",
      }),
      result(`recv through ${n / 1000}k expired to a live one`, {
        value: round(rate(recvMs), 0),
        unit: "msg/s",
        display: `${rate(recvMs).toFixed(0)} msg/s (${(recvMs / 1000).toFixed(1)} s)`,
        details: { messages: n, ms: round(recvMs) },
        note: "reported, no target",
      }),
    ];
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
