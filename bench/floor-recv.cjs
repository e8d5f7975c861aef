// The floor of `abq recv`, for B2: a durable claim in plain Node, synchronously, with nothing else
// loaded: read channel.json (the lease length), list requests/, rename the oldest message into
// processing/, fsync that folder (a claim reported before it is durable could be handed out twice after
// a crash), then read and parse the message and print it. No lease file, no event log, no schema check,
// no sender rules: what is left between this and `abq recv` is abq's own work.
// usage: node floor-recv.cjs <channel>   (ABQ_HOME set; exit 4 when the queue is empty, as abq's)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const dir = path.join(process.env.ABQ_HOME, "channels", process.argv[2]);
JSON.parse(fs.readFileSync(path.join(dir, "channel.json"), "utf8"));
const names = fs
  .readdirSync(path.join(dir, "requests"))
  .filter((n) => !n.startsWith("."))
  .sort();
if (names.length === 0) process.exit(4);
const claimed = path.join(dir, "processing", names[0]);
fs.renameSync(path.join(dir, "requests", names[0]), claimed);
const fd = fs.openSync(path.join(dir, "processing"), "r");
fs.fsyncSync(fd);
fs.closeSync(fd);
const m = JSON.parse(fs.readFileSync(claimed, "utf8"));
process.stdout.write(`ID: ${m.id}\nType: ${m.type}\nFrom: ${m.from.agent}\nFile: ${claimed}\nContent: ${m.content}\n`);
