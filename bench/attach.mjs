// B14: attachment throughput. `abq send --attach` of a 1 GiB file (128 MiB with --quick) and its
// extraction (`abq attachment -o`), in MB/s, against `cp` of the same file in the same run, with each abq
// process's peak RSS (VmHWM, sampled from /proc until it exits): the file must never sit in memory.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanEnv, cleanup, loadLib, pick, result, runDirect, tmpHome } from "./lib.mjs";

const MB = 1024 * 1024;

function bigFile(path, mb) {
  const block = randomBytes(MB);
  const fd = openSync(path, "w");
  for (let i = 0; i < mb; i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
}

/** Runs a command, returning its wall time (ms) and peak RSS (MB, Linux only; null elsewhere). */
function timed(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let peakKb = null;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peakKb = Math.max(peakKb ?? 0, Number(m[1]));
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 10);
    child.on("error", reject);
    child.on("exit", (code) => {
      sample();
      clearInterval(timer);
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-300)}`));
      else resolve({ ms, peakMb: peakKb === null ? null : peakKb / 1024 });
    });
  });
}

export async function run() {
  const lib = await loadLib();
  const home = tmpHome("attach");
  const size = pick(1024, 128);
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "att" });
    const env = cleanEnv({ ABQ_HOME: home });
    const file = join(home, "big.bin");
    bigFile(file, size);
    const rate = (ms) => size / (ms / 1000);
    const cp = await timed("cp", [file, join(home, "copy.bin")], env);
    rmSync(join(home, "copy.bin"));
    const out = [];
    const send = await timed(process.execPath, [CLI, "send", "att", "command", "x", "--attach", file], env);
    const sent = (await lib.list({ home, channel: "att", state: "requests", limit: 1 }))[0];
    const id = sent?.id ?? sent?.message?.id;
    const extract = await timed(process.execPath, [CLI, "attachment", id, "big.bin", "-o", join(home, "out.bin")], env);
    const cp2 = await timed("cp", [file, join(home, "copy2.bin")], env);
    const cpRate = (rate(cp.ms) + rate(cp2.ms)) / 2;
    for (const [what, t] of [
      ["send --attach", send],
      ["attachment -o", extract],
    ]) {
      const ratio = rate(t.ms) / cpRate;
      out.push(
        result(`B14 ${what} ${size} MiB (MB/s vs cp)`, {
          value: ratio,
          target: "peak RSS ≤ 160 MB (streamed)",
          pass: t.peakMb === null || t.peakMb <= 160,
          display: `${rate(t.ms).toFixed(0)} MB/s vs cp ${cpRate.toFixed(0)} MB/s (${ratio.toFixed(2)}×); peak RSS ${t.peakMb?.toFixed(0) ?? "?"} MB`,
          details: {
            size_mib: size,
            ms: Math.round(t.ms),
            cp_ms: [Math.round(cp.ms), Math.round(cp2.ms)],
            peak_rss_mb: t.peakMb,
          },
          note: "abq fsyncs the blob (cp does not) and hashes it (sha256) as it streams",
        }),
      );
    }
    return out;
  } finally {
    cleanup(home);
  }
}

await runDirect(import.meta.url, run);
