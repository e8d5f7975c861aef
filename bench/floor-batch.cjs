// The floor of a durable `abq send --batch`, for bench/batch.mjs: the file work it must do for N
// messages, in plain Node with nothing else loaded, chunk by chunk as abq does (256 messages): write each
// message whole to its own file in tmp/, fsync those files together (libuv's pool, 32 threads, as abq's
// CLI sets for --batch), rename them into requests/ in order, fsync requests/ once, then report. No
// schema, no identity, no event log: what is left between this and `abq send --batch` is abq's own work.
// usage: UV_THREADPOOL_SIZE=32 node floor-batch.cjs <channel folder> <n>   (prints how many it sent)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const [dir, count] = process.argv.slice(2);
const n = Number(count);
const CHUNK = 256;
const fsyncFile = (file) =>
  new Promise((resolve, reject) =>
    fs.open(file, "r", (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (e) => fs.close(fd, () => (e ? reject(e) : resolve())));
    }),
  );

async function main() {
  const stamp = Date.now().toString(16).padStart(12, "0");
  let sent = 0;
  while (sent < n) {
    const names = [];
    for (let i = sent; i < Math.min(n, sent + CHUNK); i++) {
      const id = `req_${stamp}${String(i).padStart(20, "0")}`;
      const message = { id, version: "1.0.0", type: "signal", from: { agent: "bench/floor" }, content: `m${i}` };
      const staged = path.join(dir, "tmp", `${id}.json.tmp`);
      const fd = fs.openSync(staged, "wx", 0o600);
      fs.writeSync(fd, `${JSON.stringify(message, null, 2)}\n`);
      fs.closeSync(fd);
      names.push([staged, path.join(dir, "requests", `${id}.json`)]);
    }
    await Promise.all(names.map(([staged]) => fsyncFile(staged)));
    for (const [staged, final] of names) fs.renameSync(staged, final);
    await fsyncFile(path.join(dir, "requests"));
    sent += names.length;
  }
  process.stdout.write(`${sent}\n`);
}
main();
