/** The channel policy flags shared by `channel create` and `channel config`, and their mapping. */
import { type Command, Option } from "commander";
import type { PolicyInput } from "../../protocol/policy.ts";
import type { CommonOptions } from "../../api/options.ts";
import { parseCount, parseSeconds } from "./parse.ts";

export interface PolicyFlags {
  maxAttempts?: number;
  backoff?: number;
  backoffMax?: number;
  lease?: number;
  ttl?: number;
  retain?: number;
  retryErrors?: boolean;
  requireSigned?: boolean;
  /** `--allow-sender a b` gives the list; `--no-allow-sender` (false) clears it. */
  allowSender?: string[] | false;
  denySender?: string[] | false;
  group?: boolean;
}

export function addPolicyFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--max-attempts <n>", "deliveries before a message is dead-lettered (built-in default 5)").argParser(
        parseCount,
      ),
    )
    .addOption(
      new Option(
        "--backoff <duration>",
        "first retry delay, doubling per attempt, e.g. 5s (built-in default 1s)",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option("--backoff-max <duration>", "longest retry delay, e.g. 10m (built-in default 300s)").argParser(
        parseSeconds,
      ),
    )
    .addOption(
      new Option(
        "--lease <duration>",
        "how long a claim is held before the sweep may requeue it, e.g. 30m (built-in default 300s)",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option(
        "--ttl <duration>",
        "TTL of messages sent without --ttl, e.g. 1h; 0 = never expire (built-in default 0)",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option(
        "--retain <duration>",
        "keep answered/archived/dead files this long, e.g. 30d; 0 = forever (built-in default 7d)",
      ).argParser(parseSeconds),
    )
    .option("--retry-errors", "retry failed handlers (non-zero exit) instead of answering error")
    .option("--no-retry-errors", "answer error when a handler fails (default)")
    .option("--require-signed", "set aside messages not signed by the key registered to their sender")
    .option("--no-require-signed", "accept unsigned messages (default)")
    .option(
      "--allow-sender <sender...>",
      "accept only these senders, signed (agent identities, unique suffixes such as api/main, or key ids); replaces the list",
    )
    .option("--no-allow-sender", "clear the allowlist: any sender (default)")
    .option(
      "--deny-sender <sender...>",
      "reject these senders even if allowed (identities, suffixes, key ids); replaces the list",
    )
    .option("--no-deny-sender", "clear the deny list (default)")
    .option("--group", "share with your Unix group: folders 2770 (setgid), files 0660; chgrp the channel to the team")
    .option("--no-group", "private to you: folders 0700, files 0600 (default)");
}

/** Where the policy defaults come from: said once, after the flags, in `channel create` and `channel config`. */
export const POLICY_HELP = `
Policy flags change only what they name; the rest keeps the channel's current value, which for a new
channel is the built-in default shown.`;

export function policyChanges(flags: PolicyFlags): PolicyInput {
  const changes: PolicyInput = {};
  if (flags.maxAttempts !== undefined) changes.max_attempts = flags.maxAttempts;
  if (flags.backoff !== undefined) changes.backoff_s = flags.backoff;
  if (flags.backoffMax !== undefined) changes.backoff_max_s = flags.backoffMax;
  if (flags.lease !== undefined) changes.lease_s = flags.lease;
  if (flags.ttl !== undefined) changes.ttl_s = Math.round(flags.ttl);
  if (flags.retain !== undefined) changes.retain_s = flags.retain;
  if (flags.retryErrors !== undefined) changes.retry_errors = flags.retryErrors;
  if (flags.requireSigned !== undefined) changes.require_signed = flags.requireSigned;
  if (flags.group !== undefined) changes.group = flags.group;
  if (flags.allowSender !== undefined) changes.allow_senders = flags.allowSender || [];
  if (flags.denySender !== undefined) changes.deny_senders = flags.denySender || [];
  return changes;
}

/**
 * policyChanges, with sender entries resolved (`api/main` becomes the identity registered with a key).
 * An allowlist stores require_signed too, so an abq that predates allowlists still wants signatures.
 */
export async function resolvedPolicyChanges(flags: PolicyFlags, common: CommonOptions): Promise<PolicyInput> {
  const changes = policyChanges(flags);
  if (!changes.allow_senders?.length && !changes.deny_senders?.length) return changes;
  const { AbqError, resolveSenders } = await import("../../index.ts");
  if (changes.allow_senders?.length) {
    if (flags.requireSigned === false)
      throw new AbqError("E_USAGE", "--allow-sender needs signatures: it cannot go with --no-require-signed", {
        hint: "only a signature proves who sent a message; drop --no-require-signed",
      });
    changes.allow_senders = await resolveSenders({ ...common, entries: changes.allow_senders, list: "allow" });
    changes.require_signed = true;
  }
  if (changes.deny_senders?.length)
    changes.deny_senders = await resolveSenders({ ...common, entries: changes.deny_senders, list: "deny" });
  return changes;
}
