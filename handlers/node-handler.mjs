#!/usr/bin/env node
// A Node handler: reads the message JSON from stdin, answers with a JSON result on stdout.
//   abq watch jobs --handler handlers/node-handler.mjs
// Content that is JSON is parsed and echoed back with a summary; exit 75 (EX_TEMPFAIL) asks abq to
// offer the message again, e.g. when a resource it needs is busy.
let input = "";
for await (const chunk of process.stdin) input += chunk;
const message = JSON.parse(input);

if (message.content === "busy") {
  process.stderr.write("resource busy, try again\n");
  process.exit(75);
}

let payload;
try {
  payload = JSON.parse(message.content);
} catch {
  payload = message.content;
}
process.stdout.write(
  JSON.stringify({
    handled: message.id,
    type: message.type,
    from: message.from.agent,
    attempt: Number(process.env.ABQ_ATTEMPT),
    bytes: Buffer.byteLength(message.content),
    payload: typeof payload === "string" ? payload.slice(0, 200) : payload,
  }),
);
