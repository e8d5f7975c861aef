// B3: in-process send → claim → respond cycles/s through the library (one FsTransport), vs a raw-fs
// baseline doing the protocol's minimal syscalls with the same fs.promises API, fsync on and off.
// The two alternate in blocks so machine-load drift hits both alike. Target (issue 18): ≥ 0.75× the raw
// rate, fsync on and off.
import { constants, promises as fs } from "node:fs";
import { join } from "node:path";
import { cleanup, loadLib, pick, result, round, runDirect, ROOT, tmpHome } from "./lib.mjs";

const { O_WRONLY, O_CREAT, O_EXCL, O_RDONLY, O_DIRECTORY } = constants;

async function syncDir(dir) {
  const h = await fs.open(dir, O_RDONLY | O_DIRECTORY);
  await h.sync();
  await h.close();
}
async function writeStaged(path, data, sync) {
  const h = await fs.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
  await h.writeFile(data, "utf8");
  if (sync) await h.sync();
  await h.close();
}
async function readWhole(path) {
  const h = await fs.open(path, O_RDONLY);
  await h.stat();
  const s = await h.readFile("utf8");
  await h.close();
  return s;
}

/** The protocol's steps with nothing else: stage+fsync+rename (+dir fsync); readdir+rename+read; link answer. */
async function rawCycle(dir, lib, seq, sync) {
  const id = lib.newId();
  const msg = {
    id,
    version: "1.0.0",
    type: "signal",
    from: { agent: "raw", pid: 1, pwd: "/" },
    to: "raw",
    content: `m${seq}`,
    timestamp: lib.formatTimestamp(),
    ttl: 300,
  };
  // send
  const tmp1 = join(dir, "tmp", `${id}.json.${seq}.tmp`);
  await writeStaged(tmp1, `${JSON.stringify(msg, null, 2)}\n`, sync);
  await fs.rename(tmp1, join(dir, "requests", `${id}.json`));
  if (sync) await syncDir(join(dir, "requests"));
  // claim
  const names = (await fs.readdir(join(dir, "requests"))).filter((n) => !n.startsWith(".")).sort();
  const name = names[0];
  const claimed = join(dir, "processing", name);
  await fs.rename(join(dir, "requests", name), claimed);
  if (sync) await syncDir(join(dir, "processing"));
  const req = JSON.parse(await readWhole(claimed));
  // respond
  await fs.lstat(claimed);
  JSON.parse(await readWhole(claimed));
  const resp = {
    id: req.id,
    version: "1.0.0",
    status: "success",
    from: { agent: "raw", pid: 1 },
    result: "ok",
    error: null,
    timestamp: lib.formatTimestamp(),
  };
  const tmp2 = join(dir, "tmp", `${id}.resp.${seq}.tmp`);
  await writeStaged(tmp2, `${JSON.stringify(resp, null, 2)}\n`, sync);
  await fs.link(tmp2, join(dir, "responses", `${id}.json`));
  await fs.rm(tmp2, { force: true });
  if (sync) await syncDir(join(dir, "responses"));
  await fs.rename(claimed, join(dir, "archive", `${id}_request.json`));
}

async function abqCycle(lib, home, transport, seq) {
  const sent = await lib.send({ home, channel: "lib", type: "signal", content: `m${seq}`, transport, cwd: ROOT });
  const claimed = await transport.claim("lib");
  if (!claimed || claimed.message.id !== sent.id) throw new Error("claimed something else than was sent");
  await claimed.respond("ok"); // the claim handle: answers without reading the request back
}

async function measure(lib, sync, cycles, blocks) {
  const home = tmpHome("b3");
  try {
    await lib.init({ home });
    await lib.createChannel({ home, name: "lib" });
    await lib.createChannel({ home, name: "raw" });
    const rawDir = join(home, "channels", "raw");
    const transport = new lib.FsTransport({ home, fsync: sync, agent: "bench" });
    let seq = 0;
    const per = Math.ceil(cycles / blocks);
    const ms = { abq: 0, raw: 0 };
    // warm-up (JIT, identity cache, dentry cache)
    for (let i = 0; i < 20; i++) {
      await abqCycle(lib, home, transport, seq++);
      await rawCycle(rawDir, lib, seq++, sync);
    }
    for (let b = 0; b < blocks; b++) {
      const order = b % 2 === 0 ? ["abq", "raw"] : ["raw", "abq"];
      for (const which of order) {
        const t0 = performance.now();
        for (let i = 0; i < per; i++) {
          if (which === "abq") await abqCycle(lib, home, transport, seq++);
          else await rawCycle(rawDir, lib, seq++, sync);
        }
        ms[which] += performance.now() - t0;
      }
    }
    await transport.close();
    const n = per * blocks;
    return { cycles: n, abq_per_s: (n / ms.abq) * 1000, raw_per_s: (n / ms.raw) * 1000 };
  } finally {
    cleanup(home);
  }
}

export async function run() {
  const lib = await loadLib();
  const out = [];
  for (const sync of [true, false]) {
    const m = await measure(lib, sync, sync ? pick(600, 100) : pick(4000, 400), pick(10, 4));
    const ratio = m.abq_per_s / m.raw_per_s;
    out.push(
      result(`B3 cycles/s vs raw fs (fsync ${sync ? "on" : "off"})`, {
        value: ratio,
        target: "≥ 0.75×",
        pass: ratio >= 0.75,
        display: `${ratio.toFixed(2)}× (${m.abq_per_s.toFixed(0)} vs ${m.raw_per_s.toFixed(0)}/s)`,
        details: {
          cycles_each: m.cycles,
          abq_cycles_per_s: round(m.abq_per_s, 1),
          raw_cycles_per_s: round(m.raw_per_s, 1),
        },
      }),
    );
  }
  return out;
}

await runDirect(import.meta.url, run);
