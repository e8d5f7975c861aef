import { type Command, Option } from "commander";
import { withExamples } from "../help.ts";
import { paint, paintState } from "../color.ts";
import { commonOptions, escapeControls, formatAge, printJson, printNdjson, printText, table } from "../output.ts";
import { parseSeconds } from "./parse.ts";

export function registerHeartbeat(program: Command): void {
  const heartbeat = program
    .command("heartbeat <name>")
    .description("say that <name> (a channel's consumer, or an agent) is alive for --ttl; abq watch does it by itself")
    .addOption(
      new Option("--ttl <duration>", "how long this heartbeat counts, e.g. 90s, 5m (default 30s)").argParser(
        parseSeconds,
      ),
    )
    .option("--json", "print the heartbeat as JSON")
    .action(async (name: string, opts: { ttl?: number; json?: boolean }, cmd: Command) => {
      const { heartbeat } = await import("../../index.ts");
      const hb = await heartbeat({ ...commonOptions(cmd), name, ttl: opts.ttl });
      if (opts.json) printJson(hb);
      else printText(`Alive: ${name}${hb.channel !== undefined ? " (channel consumer)" : ""} until ${hb.expires}`);
    });
  withExamples(heartbeat, "abq heartbeat reviews --ttl 1m", "while sleep 20; do abq heartbeat my-agent; done");

  const agentsCmd = program
    .command("agents")
    .description("list heartbeats: who is (or was) alive on this bus; --inboxes: one row per agent, with its mail")
    .option("--inboxes", "one row per known agent: identity, inbox, pending mail, live or not, last seen")
    .option("--json", "one JSON object per heartbeat (or per agent with --inboxes), NDJSON")
    .action(async (opts: { json?: boolean; inboxes?: boolean }, cmd: Command) => {
      if (opts.inboxes) return listMailboxes(cmd, opts.json ?? false);
      const { agents } = await import("../../index.ts");
      const list = await agents(commonOptions(cmd));
      if (opts.json) return printNdjson(list);
      if (list.length === 0) return printText("No heartbeats");
      printText(
        table([
          ["STATE", "NAME", "CHANNEL", "AGENT", "PID", "HOST", "SEEN"].map((h) => paint(1, "bold", h)),
          ...list.map((h) => [
            paintState(1, h.live ? "live" : "expired"),
            h.name,
            h.channel ?? "-",
            escapeControls(h.agent),
            String(h.pid),
            escapeControls(h.host),
            `${formatAge(Date.now() - Date.parse(h.at))} ago`,
          ]),
        ]),
      );
    });
  withExamples(agentsCmd, "abq agents", "abq agents --inboxes", "abq agents --json | jq -r 'select(.live) | .name'");
}

async function listMailboxes(cmd: Command, json: boolean): Promise<void> {
  const { mailboxes } = await import("../../index.ts");
  const list = await mailboxes(commonOptions(cmd));
  if (json) return printNdjson(list);
  if (list.length === 0) return printText("No agents known yet (no heartbeats, no inboxes)");
  printText(
    table([
      ["STATE", "AGENT", "INBOX", "PENDING", "SEEN"].map((h) => paint(1, "bold", h)),
      ...list.map((a) => [
        paintState(1, a.live ? "live" : "away"),
        escapeControls(a.agent ?? "-"),
        a.inbox,
        String(a.pending),
        a.last_seen !== undefined ? `${formatAge(Date.now() - Date.parse(a.last_seen))} ago` : "-",
      ]),
    ]),
  );
}
