// The floor of abq's bulk operations, for bench/bulk.mjs: the file work `abq purge` and the sweep's
// expiry must do for every pending message of a channel, in plain synchronous Node with nothing else
// loaded. purge: rename the message into archive/ and create its reason file; expire: read and parse
// the message (is it past its TTL?), rename it into expired/ and create its reason file. Both fsync
// the destination folder once per 256 messages, as abq does, and print how many they moved.
// requeue (bench/floor-requeue.cjs) has a floor of its own: it needs grouped asynchronous fsyncs.
// usage: node floor-bulk.cjs purge|expire <channel folder>
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const [mode, dir] = process.argv.slice(2);
const into = path.join(dir, mode === "purge" ? "archive" : "expired");
fs.mkdirSync(into, { recursive: true, mode: 0o700 });
const names = fs
  .readdirSync(path.join(dir, "requests"))
  .filter((n) => !n.startsWith("."))
  .sort();
const now = Date.now();
let moved = 0;
function syncInto() {
  const fd = fs.openSync(into, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}
for (let i = 0; i < names.length; i++) {
  const name = names[i];
  const id = name.replace(/\.json$/, "");
  const from = path.join(dir, "requests", name);
  let note;
  if (mode === "purge") {
    fs.renameSync(from, path.join(into, `${id}_request.json`));
    note = { id, state: "withdrawn", reason: "purged", by: "bench/floor", at: new Date().toISOString() };
  } else {
    const m = JSON.parse(fs.readFileSync(from, "utf8"));
    if (!(m.ttl > 0 && Date.parse(m.timestamp) + m.ttl * 1000 < now)) continue;
    fs.renameSync(from, path.join(into, `${id}.json`));
    note = { id, state: "expired", reason: `ttl ${m.ttl}s from ${m.timestamp}`, at: new Date().toISOString() };
  }
  const reason = path.join(into, mode === "purge" ? `${id}_reason.json` : `${id}.reason.json`);
  const fd = fs.openSync(reason, "wx", 0o600);
  fs.writeSync(fd, `${JSON.stringify(note, null, 2)}\n`);
  fs.closeSync(fd);
  moved++;
  if (moved % 256 === 0) syncInto();
}
syncInto();
process.stdout.write(`${moved}\n`);
