// The floor of B4: a watcher in plain Node that does only what a durable claim-and-run must do, for the
// same sends and the same handler as `abq watch` in the same run. On each inotify event for requests/ it
// lists the folder, renames the oldest message into processing/, fsyncs that folder (the claim must be
// durable before the handler runs), reads the message for its content and starts the handler with
// /bin/sh -c; when the handler exits it archives the message. No lease, no event log, no schema check,
// no heartbeat: what is left between this and `abq watch` is abq's own work.
// With a poll period (B5's floor), it looks on a timer of that period instead of on inotify events, as
// `abq watch --poll` does.
// usage: node floor-watch.cjs <channel folder> <handler> [poll ms]
// (prints {"type":"started"} and {"type":"handled"} lines)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");

const [dir, handler, pollArg] = process.argv.slice(2);
const poll = pollArg === undefined ? undefined : Number(pollArg);
const requests = path.join(dir, "requests");
const processing = path.join(dir, "processing");
let busy = false;

function syncDir(folder) {
  const fd = fs.openSync(folder, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function pass() {
  if (busy) return; // the handler's exit looks again
  const names = fs
    .readdirSync(requests)
    .filter((n) => !n.startsWith("."))
    .sort();
  if (names.length === 0) return;
  busy = true;
  const name = names[0];
  const claimed = path.join(processing, name);
  fs.renameSync(path.join(requests, name), claimed);
  syncDir(processing);
  const message = JSON.parse(fs.readFileSync(claimed, "utf8"));
  const child = spawn("/bin/sh", ["-c", handler], {
    env: { ...process.env, ABQ_MSG_CONTENT: message.content },
    stdio: "ignore",
  });
  child.on("exit", () => {
    fs.renameSync(claimed, path.join(dir, "archive", `${message.id}_request.json`));
    process.stdout.write(`${JSON.stringify({ type: "handled", id: message.id })}\n`);
    busy = false;
    pass();
  });
}

if (poll === undefined) {
  fs.watch(requests, () => pass());
  setInterval(pass, 1000); // a lost event is picked up by the next tick, as abq's backstop does
} else setInterval(pass, poll);
process.stdout.write(`${JSON.stringify({ type: "started" })}\n`);
