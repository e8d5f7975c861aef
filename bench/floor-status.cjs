// The floor of `abq status`, for B2 and B7: the same reads in plain Node, synchronously, with nothing else
// loaded: lstat the home and channels/, then for every channel read channel.json (its subscribers) and
// list each of its nine state folders, counting the names that are not dot-files, and print one line per
// queue. No safety checks, no age of the oldest, no subscriber rows: what is left between this and
// `abq status` is abq's own work, and what is left between this and `node -e 0` is the disk's.
// usage: node floor-status.cjs   (ABQ_HOME set)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const home = process.env.ABQ_HOME;
const channels = path.join(home, "channels");
fs.lstatSync(home);
fs.lstatSync(channels);
const STATES = ["requests", "processing", "delayed", "responses", "archive", "dead", "rejected", "expired", "late"];
const lines = [];
for (const name of fs.readdirSync(channels).sort()) {
  const dir = path.join(channels, name);
  try {
    JSON.parse(fs.readFileSync(path.join(dir, "channel.json"), "utf8"));
  } catch {
    continue; // not a channel
  }
  const counts = STATES.map((s) => {
    try {
      return fs.readdirSync(path.join(dir, s)).filter((n) => !n.startsWith(".")).length;
    } catch {
      return 0;
    }
  });
  lines.push(`${name} ${counts.join(" ")}`);
}
process.stdout.write(`${lines.join("\n")}\n`);
