// The floor of `abq requeue --dead-owners`, for bench/bulk.mjs: the file work it must do for every claim
// of a channel whose owner has exited, in plain Node with nothing else loaded, 256 claims at a time as abq
// does: read the claim's lease and see that its process is gone, rename the claim to a dot-name (so no one
// else takes it), drop the lease, write the message's new copy (attempts + 1) to tmp/; then fsync the
// copies together (libuv's pool, 32 threads, as abq's CLI sets for requeue), rename each over its
// dot-name, fsync processing/, rename each into requests/ and fsync requests/. No lease revocation
// record, no schema, no event log: what is left between this and `abq requeue` is abq's own work.
// usage: UV_THREADPOOL_SIZE=32 node floor-requeue.cjs <channel folder>   (prints how many it requeued)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const dir = process.argv[2];
const at = (...p) => path.join(dir, ...p);
const fsyncPath = (file) =>
  new Promise((resolve, reject) =>
    fs.open(file, "r", (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (e) => fs.close(fd, () => (e ? reject(e) : resolve())));
    }),
  );
function gone(pid) {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return err.code === "ESRCH";
  }
}

async function main() {
  const names = fs
    .readdirSync(at("processing"))
    .filter((n) => !n.startsWith("."))
    .sort();
  let moved = 0;
  for (let start = 0; start < names.length; start += 256) {
    const slice = [];
    for (const name of names.slice(start, start + 256)) {
      const id = name.replace(/\.json$/, "");
      const lease = JSON.parse(fs.readFileSync(at("leases", `${id}.json`), "utf8"));
      if (!gone(lease.owner.pid)) continue;
      const mine = at("processing", `.retry-${id}.${process.pid}`);
      fs.renameSync(at("processing", name), mine);
      fs.unlinkSync(at("leases", `${id}.json`));
      const m = JSON.parse(fs.readFileSync(mine, "utf8"));
      m.attempts = (m.attempts ?? 0) + 1;
      const staged = at("tmp", `${id}.json.retry.tmp`);
      const fd = fs.openSync(staged, "wx", 0o600);
      fs.writeSync(fd, `${JSON.stringify(m, null, 2)}\n`);
      fs.closeSync(fd);
      slice.push({ name, mine, staged });
    }
    await Promise.all(slice.map((c) => fsyncPath(c.staged)));
    for (const c of slice) fs.renameSync(c.staged, c.mine);
    await fsyncPath(at("processing"));
    for (const c of slice) fs.renameSync(c.mine, at("requests", c.name));
    await fsyncPath(at("requests"));
    moved += slice.length;
  }
  process.stdout.write(`${moved}\n`);
}
main();
