// Bulk operations (issue 18): `abq requeue --dead-owners` of N claims whose owner process has exited, and
// `abq purge` of N pending messages, each timed as one CLI call, durable (fsync on, the default).
// Reported as messages per second; the targets are the (≥ 2 000 and ≥ 5 000 msg/s).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { abq, cleanEnv, cleanup, loadLib, pick, result, round, runDirect, seedPending, tmpHome } from "./lib.mjs";

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
    await lib.createChannel({ home, name: "pending" });
    seedPending(lib, home, "pending", n);
    const purgeMs = await timed(["purge", "pending", "--yes"], env, new RegExp(`${n}`));
    const rate = (ms) => (n * 1000) / ms;
    return [
      result(`requeue of ${n / 1000}k dead-owner claims`, {
        value: round(rate(requeueMs), 0),
        unit: "msg/s",
        target: "≥ 2000 msg/s",
        pass: rate(requeueMs) >= 2000,
        display: `${rate(requeueMs).toFixed(0)} msg/s (${(requeueMs / 1000).toFixed(1)} s)`,
        details: { messages: n, ms: round(requeueMs) },
      }),
      result(`purge of ${n / 1000}k pending`, {
        value: round(rate(purgeMs), 0),
        unit: "msg/s",
        target: "≥ 5000 msg/s",
        pass: rate(purgeMs) >= 5000,
        display: `${rate(purgeMs).toFixed(0)} msg/s (${(purgeMs / 1000).toFixed(1)} s)`,
        details: { messages: n, ms: round(purgeMs) },
      }),
    ];
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
