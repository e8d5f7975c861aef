/**
 * `abq ack`, `abq release` and `abq term`: the final acts on a message claimed earlier with `abq recv`,
 * besides `abq respond`; and `abq renew`, which keeps the claim longer. Each is fenced like respond: with `--lease`, a claim taken over meanwhile
 * (requeued after its lease ran out, claimed by someone else) is refused with exit 7 and nothing changes.
 */
import { type Command, Option } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, formatDuration, printJson, printText } from "../output.ts";
import { parseDuration } from "./parse.ts";

interface ClaimFlags {
  as?: string;
  lease?: string;
  json?: boolean;
}

const LEASE_HELP = "the lease token `abq recv` printed: refuse (exit 7, nothing changes) if the claim was taken over";

/** The flags every act takes, and the claim reference they make with the channel and id. */
function claimCommand(cmd: Command): Command {
  return cmd
    .option("--as <subscriber>", "act on a topic subscriber's copy")
    .option("--lease <token>", LEASE_HELP)
    .option("--json", "print what happened as JSON");
}

function claimRef(cmd: Command, channel: string, id: string, opts: ClaimFlags) {
  return { ...commonOptions(cmd), channel, id, as: opts.as, lease: opts.lease };
}

/** The JSON every act prints: which message, whose copy, and the outcome fields of the act. */
function actJson(
  channel: string,
  id: string,
  opts: ClaimFlags,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  return { channel, ...(opts.as !== undefined ? { subscriber: opts.as } : {}), id, ...fields };
}

export function registerAck(program: Command): void {
  const ack = claimCommand(
    program
      .command("ack <channel> <id>")
      .description("finish a claimed message without an answer: archived as acknowledged (a waiting ask is told)"),
  ).action(async (channel: string, id: string, opts: ClaimFlags, cmd: Command) => {
    const { ack } = await import("../../index.ts");
    await ack(claimRef(cmd, channel, id, opts));
    if (opts.json) printJson(actJson(channel, id, opts, { acknowledged: true }));
    else printText(`Acknowledged: ${id}`);
  });
  withExamples(ack, 'abq ack reviews "$id"', 'abq ack reviews "$id" --lease "$lease"');
}

export function registerRelease(program: Command): void {
  const release = claimCommand(
    program
      .command("release <channel> <id>")
      .description("give a claimed message back to the queue, at once or after --delay; not a failed attempt")
      .addOption(
        new Option(
          "-d, --delay <duration>",
          "keep it in delayed/ this long first, e.g. 30s, 10m, 2h (default: back at once)",
        ).argParser(parseDuration),
      ),
  ).action(async (channel: string, id: string, opts: ClaimFlags & { delay?: number }, cmd: Command) => {
    const { release } = await import("../../index.ts");
    const delayMs = opts.delay !== undefined && opts.delay > 0 ? opts.delay : undefined;
    const outcome = await release({ ...claimRef(cmd, channel, id, opts), delay: delayMs && delayMs / 1000 });
    if (opts.json) {
      printJson(actJson(channel, id, opts, { outcome, ...(delayMs !== undefined ? { delay_s: delayMs / 1000 } : {}) }));
    } else {
      const how = outcome === "delayed" && delayMs !== undefined ? `delayed ${formatDuration(delayMs)}` : outcome;
      printText(`Released: ${id} (${how})`);
    }
  });
  withExamples(release, 'abq release reviews "$id"', 'abq release reviews "$id" --delay 10m');
}

export function registerRenew(program: Command): void {
  const renew = claimCommand(
    program
      .command("renew <channel> <id>")
      .description("keep a claim longer: its lease runs the channel's lease_s again from now"),
  ).action(async (channel: string, id: string, opts: ClaimFlags, cmd: Command) => {
    const { renew } = await import("../../index.ts");
    const lease = await renew(claimRef(cmd, channel, id, opts));
    if (opts.json) printJson(actJson(channel, id, opts, { deadline: lease.deadline, lease_s: lease.lease_s }));
    else printText(`Renewed: ${id} (held until ${lease.deadline})`);
  });
  withExamples(renew, 'abq renew reviews "$id"', 'abq renew reviews "$id" --lease "$lease"');
}

export function registerTerm(program: Command): void {
  const term = claimCommand(
    program
      .command("term <channel> <id>")
      .description("give up on a claimed message now: dead-letter it with a reason (revive: abq requeue --from-dead)")
      .requiredOption("-r, --reason <text>", "why: kept with the dead letter, shown by abq show and abq dead"),
  ).action(async (channel: string, id: string, opts: ClaimFlags & { reason: string }, cmd: Command) => {
    const { term } = await import("../../index.ts");
    await term({ ...claimRef(cmd, channel, id, opts), reason: opts.reason });
    if (opts.json) printJson(actJson(channel, id, opts, { terminated: true, reason: opts.reason }));
    else printText(`Dead-lettered: ${id} (see: abq show ${id})`);
  });
  withExamples(
    term,
    'abq term reviews "$id" --reason "cannot parse the diff"',
    'abq requeue reviews --from-dead --id "$id"',
  );
}
