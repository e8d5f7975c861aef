import { type Command, Option } from "commander";
import type { ShareEntry } from "../../share/list.ts";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printNdjson, printText, table } from "../output.ts";

/** `abq share|unshare|shares`: grant one other Unix user or group access to one channel (docs/sharing.md). */
export function registerShare(program: Command): void {
  const share = program
    .command("share <channel>")
    .description("let another Unix user or group read (default) or use one channel, enforced by the kernel (ACLs)")
    .requiredOption("--with <grantee>", "who: user:NAME or group:NAME")
    .addOption(
      new Option("--read-only", "list, show and tail; never send, claim or answer (the default)").conflicts(
        "readWrite",
      ),
    )
    .addOption(new Option("--read-write", "everything you can do on the channel"))
    .option("--json", "print {channel, path, grantee, access, previous, traverse_added, not_owned} as JSON")
    .action(async (channel: string, opts: { with: string; readWrite?: boolean; json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const access = opts.readWrite === true ? "read-write" : "read-only";
      const r = await lib.share(channel, { ...commonOptions(cmd), with: opts.with, access });
      if (opts.json) return printJson(r);
      const was = r.previous !== null && r.previous !== r.access ? ` (was ${r.previous})` : "";
      const lines = [`Shared: ${r.channel} -> ${r.grantee}, ${r.access}${was}`, `Hand over: ABQ_HOME=${r.home}`];
      if (r.traverse_added.length > 0)
        lines.push(`Pass-through (execute-only) added on: ${r.traverse_added.join(", ")}`);
      if (r.not_owned > 0)
        lines.push(`Not opened: ${r.not_owned} path(s) other users wrote (only their owner or root can change them)`);
      printText(escapeControls(lines.join("\n")));
    });
  withExamples(
    share,
    "abq share jobs --with user:bob",
    "abq share jobs --with group:reviewers --read-write",
    "abq share jobs --with user:bob --read-write --json",
  );

  const unshare = program
    .command("unshare <channel>")
    .description("revoke a share at once: the grantee's next operation on the channel fails (exit 9)")
    .addOption(new Option("--with <grantee>", "whose access: user:NAME or group:NAME").conflicts("all"))
    .option("--all", "everyone's: no ACL entry is left on the channel")
    .option("--json", "print {channel, removed, traverse_removed, not_owned} as JSON")
    .action(async (channel: string, opts: { with?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const r = await lib.unshare(channel, { ...commonOptions(cmd), with: opts.with, all: opts.all });
      if (opts.json) return printJson(r);
      const lines = [
        r.removed.length === 0
          ? `Not shared: ${r.channel}${opts.with !== undefined ? ` with ${opts.with}` : ""} (no entry left on disk)`
          : `Unshared: ${r.channel} from ${r.removed.join(", ")}`,
      ];
      if (r.traverse_removed.length > 0) lines.push(`Pass-through removed from: ${r.traverse_removed.join(", ")}`);
      if (r.not_owned > 0)
        lines.push(
          `Kept: ${r.not_owned} path(s) other users wrote keep their inherited entries (only their owner or root can change them)`,
        );
      printText(escapeControls(lines.join("\n")));
    });
  withExamples(unshare, "abq unshare jobs --with user:bob", "abq unshare jobs --all");

  const shares = program
    .command("shares [channel]")
    .description("who can see which channel: grantee, access, and whether the ACL on disk still says so")
    .option("--json", "one JSON object per grant (NDJSON): {channel, path, grantee, access, granted_at, on_disk}")
    .action(async (channel: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const entries = await lib.listShares({ ...commonOptions(cmd), channel });
      if (opts.json) return printNdjson(entries);
      if (entries.length === 0) return printText(channel === undefined ? "No shares" : `${channel} is not shared`);
      printText(escapeControls(table([["CHANNEL", "GRANTEE", "ACCESS", "ON DISK", "SINCE"], ...entries.map(row)])));
    });
  withExamples(shares, "abq shares", "abq shares jobs --json");
}

function row(e: ShareEntry): string[] {
  return [e.channel, e.grantee, e.access, e.on_disk, e.granted_at];
}
