import type { Command } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { addPolicyFlags, type PolicyFlags, policyChanges } from "./policy-flags.ts";
import type { CountedState } from "../../lifecycle/states.ts";
import { commonOptions, escapeControls, formatAge, printJson, printNdjson, printText, table } from "../output.ts";
import { countLabel, countsOf } from "../views.ts";

export function registerChannel(program: Command): void {
  const channel = program.command("channel").description("create, list, inspect and remove channels");

  addPolicyFlags(
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
      const { info, created } = await createChannel({
        ...common,
        name,
        description: opts.description,
        topic: opts.topic,
      });
      const changes = policyChanges(opts);
      const policy =
        Object.keys(changes).length > 0 ? await configureChannel({ ...common, name, policy: changes }) : undefined;
      if (opts.json) printJson({ ...info, created, ...(policy ? { policy } : {}) });
      else printText(created ? `Created channel: ${name}` : `Channel already exists: ${name}`);
    },
  );

  addPolicyFlags(
    channel
      .command("config <name>")
      .description("show or change a channel's supervision policy (retries, backoff, leases, TTL, retention)")
      .option("--json", "print the policy as JSON"),
  ).action(async (name: string, opts: PolicyFlags & { json?: boolean }, cmd: Command) => {
    const { channelPolicy, configureChannel } = await import("../../index.ts");
    const common = commonOptions(cmd);
    const changes = policyChanges(opts);
    const policy =
      Object.keys(changes).length > 0
        ? await configureChannel({ ...common, name, policy: changes })
        : await channelPolicy({ ...common, name });
    if (opts.json) return printJson(policy);
    printText(table(Object.entries(policy).map(([k, v]) => [`${k}:`, String(v)])));
  });

  channel
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

  channel
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

  channel
    .command("rm <name>")
    .description("delete a channel and all its messages")
    .option("-y, --yes", "delete even if messages are pending, delayed or claimed")
    .option("--json", "print the removed channel's last counts as JSON")
    .action(async (name: string, opts: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const { channelInfo, removeChannel } = await import("../../index.ts");
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
      const last = await removeChannel({ ...common, name });
      if (opts.json) printJson({ removed: name, ...last });
      else printText(`Removed channel: ${name}`);
    });
}
