// The floor of the inbox hook with mail, for B2: `abq check --inbox <ch> --inject` in plain Node,
// synchronously, with nothing else loaded: read channel.json, list requests/, sort the names, read and
// parse the oldest ten messages and print the count and one line for each. No safety checks, no schema,
// no sender rules: what is left between this and `abq check` is abq's own work.
// usage: node floor-check.cjs <channel>   (ABQ_HOME set)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const dir = path.join(process.env.ABQ_HOME, "channels", process.argv[2]);
JSON.parse(fs.readFileSync(path.join(dir, "channel.json"), "utf8"));
const names = fs
  .readdirSync(path.join(dir, "requests"))
  .filter((n) => !n.startsWith("."))
  .sort();
const lines = names.slice(0, 10).map((n) => {
  const m = JSON.parse(fs.readFileSync(path.join(dir, "requests", n), "utf8"));
  return `- ${m.id} ${m.type} from ${m.from.agent}: ${String(m.content).split("\n")[0]}`;
});
process.stdout.write(`abq: ${names.length} messages pending in ${process.argv[2]}.\n${lines.join("\n")}\n`);
