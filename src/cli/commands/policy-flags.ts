/** The channel policy flags shared by `channel create` and `channel config`, and their mapping. */
import { type Command, Option } from "commander";
import type { PolicyInput } from "../../protocol/policy.ts";
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
  group?: boolean;
}

export function addPolicyFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--max-attempts <n>", "deliveries before a message is dead-lettered (default 5)").argParser(
        parseCount,
      ),
    )
    .addOption(
      new Option("--backoff <duration>", "first retry delay, doubling per attempt (default 1)").argParser(parseSeconds),
    )
    .addOption(new Option("--backoff-max <duration>", "longest retry delay (default 300)").argParser(parseSeconds))
    .addOption(
      new Option(
        "--lease <duration>",
        "how long a claim is held before the sweep may requeue it (default 300)",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option(
        "--ttl <duration>",
        "default TTL of messages sent without --ttl; 0 = never expire (default 0)",
      ).argParser(parseSeconds),
    )
    .addOption(
      new Option(
        "--retain <duration>",
        "keep answered/archived/dead files this long; 0 = forever (default 7 days)",
      ).argParser(parseSeconds),
    )
    .option("--retry-errors", "retry failed handlers (non-zero exit) instead of answering error")
    .option("--no-retry-errors", "answer error when a handler fails (default)")
    .option("--require-signed", "set aside messages not signed by a known key")
    .option("--no-require-signed", "accept unsigned messages (default)")
    .option("--group", "share with your Unix group: folders 2770 (setgid), files 0660; chgrp the channel to the team")
    .option("--no-group", "private to you: folders 0700, files 0600 (default)");
}

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
  return changes;
}
