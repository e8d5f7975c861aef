import { type Command, Option } from "commander";
import { type RecvFlags, recvAction } from "../actions/recv.ts";
import { withExamples } from "../help.ts";
import { commonOptions } from "../output.ts";
import { parseTimeout } from "./parse.ts";

const SKIPPED_HELP = `
What the claim set aside on its way goes to stderr, never silently: messages whose TTL ran out (moved to
expired/) and files that were not valid messages (moved to rejected/). In text mode that is one line,
  abq: expired 2 message(s) (TTL ran out; see: abq ls <channel> expired)
with --json one JSON line (stdout keeps exactly the claimed message):
  {"skipped":{"channel":"q","expired":2,"rejected":0,"expired_ids":["req_…"],"rejected_files":[]}}
It is printed also when nothing could be claimed in the end (exit 4 or 5).

An empty queue is exit 4 with nothing on stderr (with --json, the JSON error), so a loop ends quietly:
  while msg=$(abq recv q); do …; done
A --wait that times out (exit 5) says so on stderr.`;

export function registerRecv(program: Command): void {
  const recv = program
    .command("recv <channel>")
    .description("claim the oldest pending message (exit 4 when there is none)")
    .option("-w, --wait", "wait for a message to arrive")
    .option("--as <subscriber>", "receive a topic subscriber's own copy")
    .addOption(
      new Option(
        "-t, --timeout <duration>",
        "how long --wait waits, e.g. 90s, 10m (default 30s; exit 5 after)",
      ).argParser(parseTimeout),
    )
    .option("--json", "print the claimed message as stored")
    .addHelpText("after", SKIPPED_HELP)
    .action((channel: string, opts: RecvFlags, cmd: Command) => recvAction(commonOptions(cmd), channel, opts));
  withExamples(
    recv,
    "abq recv reviews",
    "abq recv reviews --wait --timeout 1m --json | jq -r .content",
    'while msg=$(abq recv reviews); do echo "$msg"; done',
  );
}
