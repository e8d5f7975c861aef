// The floor of a durable `abq send`, for B1: the same file operations in plain Node, synchronously, with
// nothing else loaded: lstat the home, channels/ and every folder of the channel (abq's safety check),
// read channel.json (the default TTL), read the repository's HEAD (the sender's name), then stage the
// message in tmp/, fsync it, rename it into requests/, fsync the folder, and print the id.
// usage: node floor-send.cjs <channel> <type> <content>   (ABQ_HOME set)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const [channel, type, content] = process.argv.slice(2);
const home = process.env.ABQ_HOME;
const dir = path.join(home, "channels", channel);
const folders = ["requests", "processing", "responses", "archive", "tmp", "leases", "delayed", "dead", "expired"];
for (const d of [home, path.join(home, "channels"), dir, ...folders.map((f) => path.join(dir, f))]) {
  try {
    fs.lstatSync(d);
  } catch {
    // abq treats a missing folder as "not there yet" too
  }
}
const policy = JSON.parse(fs.readFileSync(path.join(dir, "channel.json"), "utf8"));
try {
  fs.readFileSync(path.join(process.cwd(), ".git", "HEAD"), "utf8");
} catch {
  // not a repository
}
const random = Buffer.alloc(10);
const rfd = fs.openSync("/dev/urandom", "r");
fs.readSync(rfd, random, 0, 10, null);
fs.closeSync(rfd);
const id = `req_${Date.now().toString(16).padStart(12, "0")}${random.toString("hex")}`;
const message = {
  id,
  version: "1.0.0",
  type,
  from: { agent: "bench/floor", pid: process.pid, pwd: process.cwd() },
  to: channel,
  content,
  timestamp: new Date().toISOString(),
  ttl: policy.ttl_s ?? 0,
};
const staged = path.join(dir, "tmp", `${id}.json.${process.pid}.tmp`);
const fd = fs.openSync(staged, "wx", 0o600);
fs.writeSync(fd, `${JSON.stringify(message, null, 2)}\n`);
fs.fsyncSync(fd);
fs.closeSync(fd);
fs.renameSync(staged, path.join(dir, "requests", `${id}.json`));
const dfd = fs.openSync(path.join(dir, "requests"), "r");
fs.fsyncSync(dfd);
fs.closeSync(dfd);
fs.writeSync(1, `Sent: ${id} -> ${channel}\n`);
