import type { Command } from "commander";
import type { KeyRecord } from "../../api/security.ts";
import { withExamples } from "../help.ts";
import { readStdin } from "../stdin.ts";
import { commonOptions, escapeControls, printJson, printNdjson, printText, table } from "../output.ts";

/** `abq keys list|add|revoke`: the key registry, which key speaks for which agent (docs/security.md). */
export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description("the key registry: which signing key speaks for which agent; revoke a key");
  withExamples(
    keys,
    "abq keys list",
    "abq keys add github.com/acme/api/main api.pub",
    'abq keys revoke 0123456789abcdef --reason "laptop lost"',
  );

  const list = keys
    .command("list")
    .alias("ls")
    .description("list the keys on this bus: key id, agent, revoked or not, private half here or not")
    .option("--json", "one JSON object per key (NDJSON): {keyid, agent, added_at, private, revoked_at, …}")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listKeys } = await import("../../index.ts");
      const records = await listKeys(commonOptions(cmd));
      if (opts.json) return printNdjson(records);
      if (records.length === 0) return printText("No keys (make one with: abq keygen)");
      printText(table([["KEY", "AGENT", "STATE", "PRIVATE"], ...records.map(row)]));
    });
  withExamples(list, "abq keys list", "abq keys list --json | jq -r 'select(.revoked_at == null) | .keyid'");

  const add = keys
    .command("add <agent> <pubfile>")
    .description("register a public key (a .pub file, or - for stdin) for an agent identity, exactly as it sends")
    .option("--json", "print {keyid, agent, added} as JSON")
    .action(async (agent: string, file: string, opts: { json?: boolean }, cmd: Command) => {
      const { addKey } = await import("../../index.ts");
      const source = file === "-" ? { publicKey: await readStdin() } : { publicKeyFile: file };
      const { record, added } = await addKey({ ...commonOptions(cmd), agent, ...source });
      if (opts.json) return printJson({ keyid: record.keyid, agent: record.agent, added });
      const who = escapeControls(record.agent ?? agent);
      printText(added ? `Key ${record.keyid} now speaks for ${who}` : `Key ${record.keyid} already speaks for ${who}`);
    });
  withExamples(add, "abq keys add github.com/acme/api/main api.pub", "cat overseer.pub | abq keys add HumanOverseer -");

  const revoke = keys
    .command("revoke <keyid>")
    .description("revoke a key: every message signed with it is rejected from now on, queued ones included")
    .option("--reason <text>", "why (kept with the revocation, shown in the rejection)")
    .option("--json", "print the key's record as JSON")
    .action(async (keyid: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
      const { revokeKey } = await import("../../index.ts");
      const { record, already } = await revokeKey({ ...commonOptions(cmd), keyid, reason: opts.reason });
      if (opts.json) return printJson({ ...record, already });
      printText(
        already
          ? `Key ${keyid} was already revoked at ${record.revoked_at ?? "?"}`
          : `Revoked key ${keyid} (${escapeControls(record.agent ?? "no agent")}): its messages are rejected from now on`,
      );
    });
  withExamples(revoke, 'abq keys revoke 0123456789abcdef --reason "laptop lost"');
}

function row(r: KeyRecord): string[] {
  const state = r.damaged !== undefined ? "damaged" : r.revoked_at !== undefined ? `revoked ${r.revoked_at}` : "active";
  return [r.keyid, escapeControls(r.agent ?? "(no agent: abq keys add)"), state, r.private ? "yes" : "-"];
}
