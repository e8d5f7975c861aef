// B11: topic fan-out with private copies (a reflink or real copy per subscriber; issue "hard-linked topic
// copies") vs the hard links it replaced. N messages published to a topic with 4 subscribers, at two sizes,
// fsync on (the default) and off. Four variants run side by side, each on its own bus, interleaved in
// rounds (the first variant rotating) so load drift hits them alike:
//   product — lib.send to the topic: the shipped code (copies, up to 8 subscribers at a time), with all of
//             send's own work around it;
//   link    — the old publish path (src/spool/topic.ts before copies: stage, commit to fanout/, link(2)
//             into each subscriber's requests/ one after the other, rename to requests/, log the event),
//             rebuilt here on node:fs call for call;
//   link×8  — the same, linking to 8 subscribers at a time as the new code does;
//   copy×8  — the same, with the new per-subscriber step (copy.ts: copyFile FICLONE into the subscriber's
//             tmp/, fsync, link into requests/, unlink the staging name), 8 at a time.
// The figure is product vs link: publishing now vs before. copy×8 vs link×8 is the price of the copies
// alone, at equal concurrency; product vs copy×8 shows what send's own work adds (and that the rebuilt
// path is faithful).
import * as fs from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { cleanup, loadLib, pick, result, round, runDirect, summary, tmpHome, ROOT } from "./lib.mjs";

const p = {
  appendFile: promisify(fs.appendFile),
  chmod: promisify(fs.chmod),
  close: promisify(fs.close),
  copyFile: promisify(fs.copyFile),
  fsync: promisify(fs.fsync),
  link: promisify(fs.link),
  lstat: promisify(fs.lstat),
  mkdir: promisify(fs.mkdir),
  open: promisify(fs.open),
  readdir: promisify(fs.readdir),
  readFile: promisify(fs.readFile),
  rename: promisify(fs.rename),
  unlink: promisify(fs.unlink),
  writeFile: promisify(fs.writeFile),
};
const SUBSCRIBERS = ["s1", "s2", "s3", "s4"];
const TOPIC = "news";

const code = (err) => (err && typeof err === "object" && "code" in err ? err.code : undefined);

async function syncDir(dir) {
  const fd = await p.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await p.fsync(fd);
  } finally {
    await p.close(fd);
  }
}

const staging = (tmpDir, name) => join(tmpDir, `${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);

/** The old per-subscriber step: one more name for the committed inode. */
async function placeLink(committed, subDir, file, sync) {
  await p.link(committed, join(subDir, "requests", file));
  if (sync) await syncDir(join(subDir, "requests"));
}

/** The new per-subscriber step (copy.ts copyNoReplace + topic.ts copyTo): a private copy, never replacing. */
async function placeCopy(committed, subDir, file, sync) {
  const staged = staging(join(subDir, "tmp"), file);
  try {
    await p.copyFile(committed, staged, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    if (sync) {
      const fd = await p.open(staged, fs.constants.O_RDONLY);
      try {
        await p.fsync(fd);
      } finally {
        await p.close(fd);
      }
    }
    await p.link(staged, join(subDir, "requests", file)); // EEXIST (already there) goes to the caller
  } finally {
    await p.unlink(staged).catch(() => undefined);
  }
  if (sync) await syncDir(join(subDir, "requests"));
}

const WAYS = {
  link: { place: placeLink, parallel: 1 },
  link8: { place: placeLink, parallel: 8 },
  copy8: { place: placeCopy, parallel: 8 },
};
const VARIANTS = ["product", ...Object.keys(WAYS)];

/** The pre-copies `FsTransport.send` → `publish` → `fanOut` → `finishFanouts` → `logEvent`, on node:fs. */
async function publishRebuilt(lib, home, message, sync, way) {
  const dir = join(home, "channels", TOPIC);
  await p.lstat(join(dir, "requests")); // requireQueue
  await p.mkdir(join(dir, "fanout"), { mode: 0o700 }).catch((err) => {
    if (code(err) !== "EEXIST") throw err;
  });
  const file = `${message.id}.json`;
  const staged = staging(join(dir, "tmp"), file);
  const fd = await p.open(staged, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    await p.writeFile(fd, `${JSON.stringify(message, null, 2)}\n`, "utf8");
    if (sync) await p.fsync(fd);
  } finally {
    await p.close(fd);
  }
  await p.chmod(staged, 0o400);
  const committed = join(dir, "fanout", file);
  await p.rename(staged, committed);
  if (sync) await syncDir(join(dir, "fanout"));
  const sentAt = lib.idTime(message.id) ?? Date.now();
  const subs = (await p.readdir(join(dir, "subscribers"))).filter((n) => !n.startsWith(".")).sort();
  const one = async (name) => {
    const subDir = join(dir, "subscribers", name);
    const rec = JSON.parse(await p.readFile(join(subDir, "subscriber.json"), "utf8"));
    if (typeof rec.since_ms !== "number" || rec.since_ms > sentAt) return;
    try {
      await way.place(committed, subDir, file, sync);
    } catch (err) {
      if (code(err) === "EEXIST" || code(err) === "ENOENT") return;
      throw err;
    }
  };
  // The old code went one subscriber after the other; the new one keeps up to 8 in flight (topic.ts).
  let next = 0;
  const worker = async () => {
    while (next < subs.length) await one(subs[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(way.parallel, subs.length) }, worker));
  await p.rename(committed, join(dir, "requests", file));
  await p.readdir(join(dir, "fanout")); // finishFanouts finds nothing left
  const event = { t: new Date().toISOString(), event: "sent", id: message.id, actor: "bench", pid: process.pid };
  await p.appendFile(join(dir, "events.jsonl"), `${JSON.stringify(event)}\n`, { mode: 0o600 });
}

function makeMessage(lib, content) {
  return {
    id: lib.newId(),
    version: lib.PROTOCOL_VERSION,
    type: "signal",
    from: { agent: "bench", pid: process.pid, pwd: ROOT },
    to: TOPIC,
    content,
    timestamp: lib.formatTimestamp(),
    ttl: lib.DEFAULT_TTL,
  };
}

async function makeTopic(lib, tag) {
  const home = tmpHome(tag);
  await lib.init({ home });
  await lib.createChannel({ home, name: TOPIC, topic: true });
  for (const name of SUBSCRIBERS) await lib.subscribe({ home, topic: TOPIC, name });
  return home;
}

/** Every subscriber and the shared queue hold exactly `n` messages; copies are separate inodes (or not). */
function check(home, n, linked) {
  const dir = join(home, "channels", TOPIC);
  const queues = [dir, ...SUBSCRIBERS.map((s) => join(dir, "subscribers", s))];
  for (const q of queues) {
    const got = fs.readdirSync(join(q, "requests")).length;
    if (got !== n) throw new Error(`${q}: ${got} messages, expected ${n}`);
    const left = fs.existsSync(join(q, "tmp")) ? fs.readdirSync(join(q, "tmp")).length : 0;
    if (left !== 0) throw new Error(`${q}: ${left} staging files left`);
  }
  const one = fs.readdirSync(join(dir, "requests"))[0];
  const nlink = fs.statSync(join(dir, "requests", one)).nlink;
  if (nlink !== (linked ? 1 + SUBSCRIBERS.length : 1)) throw new Error(`${one}: nlink ${nlink}`);
}

/** One size × fsync setting: the four variants, interleaved in rounds of `chunk` messages. */
async function measure(lib, { n, chunk, bytes, sync }) {
  const content = "x".repeat(bytes);
  const tag = `b11-${bytes}-${sync ? "s" : "n"}`;
  const homes = {};
  for (const v of VARIANTS) homes[v] = await makeTopic(lib, `${tag}-${v}`);
  const transport = new lib.FsTransport({ home: homes.product, fsync: sync, agent: "bench" });
  try {
    const runs = {
      product: async () => {
        for (let i = 0; i < chunk; i++) {
          await lib.send({
            home: homes.product,
            channel: TOPIC,
            type: "signal",
            content,
            transport,
            fsync: sync,
            cwd: ROOT,
          });
        }
      },
    };
    for (const [v, way] of Object.entries(WAYS)) {
      runs[v] = async () => {
        for (let i = 0; i < chunk; i++) await publishRebuilt(lib, homes[v], makeMessage(lib, content), sync, way);
      };
    }
    const rounds = Math.max(1, Math.round(n / chunk));
    const ms = Object.fromEntries(VARIANTS.map((v) => [v, []]));
    // One untimed warm-up round, then `rounds` timed ones; the starting variant rotates each round.
    for (let r = 0; r <= rounds; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(r + k) % VARIANTS.length];
        const t0 = performance.now();
        await runs[v]();
        if (r > 0) ms[v].push(performance.now() - t0);
      }
    }
    for (const v of VARIANTS) check(homes[v], (rounds + 1) * chunk, v.startsWith("link"));
    const rate = (v) => (rounds * chunk * 1000) / ms[v].reduce((a, b) => a + b, 0);
    const ratio = (a, b) => round(rate(a) / rate(b), 3);
    const perRound = (a, b) => summary(ms[b].map((x, i) => x / ms[a][i])); // rate(a) / rate(b), round by round
    return {
      bytes,
      fsync: sync,
      msgs: rounds * chunk,
      rounds,
      chunk,
      msgs_per_s: Object.fromEntries(VARIANTS.map((v) => [v, round(rate(v), 0)])),
      product_vs_link: ratio("product", "link"),
      copy8_vs_link8: ratio("copy8", "link8"),
      product_vs_copy8: ratio("product", "copy8"),
      per_round: { product_vs_link: perRound("product", "link"), copy8_vs_link8: perRound("copy8", "link8") },
    };
  } finally {
    await transport.close();
    for (const h of Object.values(homes)) cleanup(h);
  }
}

export async function run() {
  const lib = await loadLib();
  const out = [];
  for (const bytes of [100, 64 * 1024]) {
    // 64 KiB messages: half as many (the copies write 4 × 128 MB per variant at 2 000).
    const n = Number(process.env.BENCH_B11_N ?? pick(2_000, 200)) / (bytes > 1024 ? 2 : 1);
    for (const sync of [true, false]) {
      const m = await measure(lib, { n, chunk: pick(100, 50), bytes, sync });
      const size = bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
      const r = m.msgs_per_s;
      out.push(
        result(`B11 topic ${m.msgs} × ${size} to 4 subs${sync ? "" : ", ABQ_FSYNC=0"}: copies / hard links`, {
          value: m.product_vs_link,
          target: "(report)",
          pass: null,
          display:
            `${m.product_vs_link.toFixed(2)}× (${r.product} vs ${r.link} msg/s); ` +
            `copies alone ${m.copy8_vs_link8.toFixed(2)}× (×8: ${r.copy8} vs ${r.link8})`,
          details: m,
        }),
      );
    }
  }
  return out;
}

await runDirect(import.meta.url, run);
