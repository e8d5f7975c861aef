import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { addPolicyFlags, POLICY_HELP, type PolicyFlags, resolvedPolicyChanges } from "./policy-flags.ts";
import { withExamples } from "../help.ts";
import { withProgress } from "../progress.ts";
import type { CountedState } from "../../lifecycle/states.ts";
import type { ChannelStatus } from "../../lifecycle/transport.ts";
import { commonOptions, escapeControls, formatAge, printJson, printNdjson, printText, table } from "../output.ts";
import { countLabel, countsOf, type StateTable } from "../views.ts";

export function registerChannel(program: Command): void {
  const channel = program.command("channel").description("create, list, inspect and remove channels");
  withExamples(
    channel,
    'abq channel create reviews -d "code reviews"',
    "abq channel list",
    "abq channel rm reviews --yes",
  );

  const create = addPolicyFlags(
    channel
      .command("create <name>")
      .description("create a channel (idempotent); names: 1-64 of a-z 0-9 . _ -; policy flags as in `channel config`")
      .option("-d, --description <text>", "what the channel is for")
      .option("--topic", "make it a topic: every subscriber gets its own copy of each message")
      .option("--json", "print the channel as JSON"),
  ).action(
    async (
      name: string,
      opts: PolicyFlags & { description?: string; topic?: boolean; json?: boolean },
      cmd: Command,
    ) => {
      const { configureChannel, createChannel } = await import("../../index.ts");
      const common = commonOptions(cmd);
      // Resolved first: a sender list that does not resolve must not leave a channel without it behind.
      const changes = await resolvedPolicyChanges(opts, common);
      const { info, created } = await createChannel({
        ...common,
        name,
        description: opts.description,
        topic: opts.topic,
      });
      const policy =
        Object.keys(changes).length > 0 ? await configureChannel({ ...common, name, policy: changes }) : undefined;
      if (opts.json) printJson({ ...info, created, ...(policy ? { policy } : {}) });
      else printText(created ? `Created channel: ${name}` : `Channel already exists: ${name}`);
    },
  );
  withExamples(
    create.addHelpText("after", POLICY_HELP),
    'abq channel create reviews -d "code reviews"',
    "abq channel create news --topic",
    "abq channel create deploy --max-attempts 3 --lease 30m --ttl 1h",
  );

  const config = addPolicyFlags(
    channel
      .command("config <name>")
      .description("show or change a channel's supervision policy (retries, backoff, leases, TTL, retention)")
      .option("--json", "print the policy as JSON"),
  ).action(async (name: string, opts: PolicyFlags & { json?: boolean }, cmd: Command) => {
    const { channelPolicy, configureChannel } = await import("../../index.ts");
    const common = commonOptions(cmd);
    const changes = await resolvedPolicyChanges(opts, common);
    const policy =
      Object.keys(changes).length > 0
        ? await configureChannel({ ...common, name, policy: changes })
        : await channelPolicy({ ...common, name });
    if (opts.json) return printJson(policy);
    const shown = (v: unknown): string => (Array.isArray(v) ? v.join(", ") || "-" : String(v));
    printText(table(Object.entries(policy).map(([k, v]) => [`${k}:`, escapeControls(shown(v))])));
  });
  withExamples(
    config.addHelpText("after", POLICY_HELP),
    "abq channel config deploy",
    "abq channel config deploy --retry-errors --backoff 10s --backoff-max 10m",
    "abq channel config deploy --allow-sender HumanOverseer api/main",
  );

  const list = channel
    .command("list")
    .alias("ls")
    .description("list channels")
    .option("--json", "print one JSON object per channel (NDJSON)")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listChannels } = await import("../../index.ts");
      const channels = await listChannels(commonOptions(cmd));
      if (opts.json) printNdjson(channels);
      else if (channels.length > 0) printText(channels.map((c) => c.name).join("\n"));
    });
  withExamples(list, "abq channel list", "abq channel ls --json | jq -r 'select(.kind == \"topic\") | .name'");

  const info = channel
    .command("info <name>")
    .description("show a channel's description and its message count in every state")
    .option("--json", "print {name, kind, description, created, status: {<one count per state>, ...}} as JSON")
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const info = await lib.channelInfo({ ...commonOptions(cmd), name });
      const counts = countsOf(lib, info.status);
      if (opts.json) return printJson({ ...info, status: { ...info.status, ...counts } });
      const label = (c: CountedState): string => countLabel(lib, c).replace(/^./, (ch) => ch.toUpperCase());
      printText(
        table([
          ["Channel:", info.name],
          ["Kind:", info.kind],
          ...(info.subscribers !== undefined ? [["Subscribers:", info.subscribers.join(", ") || "-"]] : []),
          ["Description:", escapeControls(info.description ?? "-")],
          ["Created:", info.created ?? "-"],
          ...lib.COUNTED_STATES.map((c) => [`${label(c)}:`, String(counts[c])]),
          ["Oldest pending:", formatAge(info.status.oldest_pending_age_ms)],
        ]),
      );
    });
  withExamples(info, "abq channel info reviews", "abq channel info reviews --json | jq .status.pending");

  const rm = channel
    .command("rm <name>")
    .description("delete a channel and all its messages")
    .option("-y, --yes", "delete even if messages are pending, delayed or claimed")
    .option("-q, --quiet", "no progress line or timing on a terminal")
    .option("--json", "print the removed channel's last counts as JSON")
    .action(async (name: string, opts: { yes?: boolean; quiet?: boolean; json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const { channelInfo, removeChannel } = lib;
      const common = commonOptions(cmd);
      const { status } = await channelInfo({ ...common, name });
      // Delayed messages are pending ones with a due time: deleting them loses work just the same.
      const delayed = status.delayed ?? 0;
      if (!opts.yes && status.pending + delayed + status.processing > 0) {
        throw new AbqError(
          "E_USAGE",
          `channel '${name}' has ${status.pending} pending, ${delayed} delayed and ${status.processing} claimed messages`,
          { hint: `purge it first, or pass --yes to delete them: abq channel rm ${name} --yes` },
        );
      }
      const { result: last, summary } = await withProgress(`removing ${name}`, opts, () =>
        removeChannel({ ...common, name }),
      );
      if (opts.json) printJson({ removed: name, ...last });
      else summary(`Removed channel: ${name}`, `: ${countsLine(lib, last)}`);
    });
  withExamples(rm, "abq channel rm reviews", "abq channel rm reviews --yes");
}

/** `3 pending, 20000 archived`: the counts a channel had, those above zero (or `empty`). */
function countsLine(lib: StateTable, status: ChannelStatus): string {
  const counts = countsOf(lib, status);
  const parts = lib.COUNTED_STATES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${countLabel(lib, c)}`);
  return parts.length > 0 ? parts.join(", ") : "empty";
}
