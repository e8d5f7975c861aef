import { type Command, Option } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText, table, writeOut } from "../output.ts";
import { parseSeconds } from "./parse.ts";

interface ReserveFlags {
  ttl?: number;
  reason?: string;
  shared?: boolean;
  exclusive?: boolean;
  json?: boolean;
}

export function registerReserve(program: Command): void {
  const reserve = program
    .command("reserve")
    .description("reserve files for your agent (globs), list, release, and check paths or staged files")
    .argument("[globs...]", "path patterns relative to the repository: src/api/**, docs/*.md")
    .addOption(
      new Option("--ttl <duration>", "the reservation expires after this long (default 1h)").argParser(parseSeconds),
    )
    .option("--reason <text>", "why, shown to whoever runs into it")
    .addOption(new Option("--exclusive", "nobody else may reserve or commit there (the default)").conflicts("shared"))
    .option("--shared", "others may hold shared reservations there too; exclusive ones conflict")
    .option("--json", "{reservation, pruned}")
    .action(async (globs: string[], opts: ReserveFlags, cmd: Command) => {
      const { reserve: add, AbqError } = await import("../../index.ts");
      if (globs.length === 0) throw new AbqError("E_USAGE", "give the globs to reserve, e.g. abq reserve 'src/api/**'");
      const mode = opts.shared ? "shared" : "exclusive";
      // A CLI call ends at once: its reservation lives until its TTL, not until this process exits.
      const done = await add({ ...commonOptions(cmd), globs, ttl: opts.ttl, reason: opts.reason, mode, ownerPid: 0 });
      if (opts.json) return printJson(done);
      pruned(done.pruned);
      printText(
        `Reserved ${escapeControls(globs.join(" "))} (${mode}, ${done.reservation.id}) until ${done.reservation.expires_at}`,
      );
    });
  reserve
    .command("list")
    .description("live reservations of every agent")
    .option("--json", "{reservations, expired}")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { listReservations } = await import("../../index.ts");
      const found = await listReservations(commonOptions(cmd));
      if (wantsJson(opts, cmd)) return printJson(found);
      const rows = found.reservations.map((r) => [
        r.id,
        escapeControls(r.agent),
        r.mode,
        escapeControls(r.globs.join(" ")),
        r.expires_at,
        escapeControls(r.reason ?? ""),
      ]);
      printText(
        rows.length === 0 ? "No reservations" : table([["ID", "AGENT", "MODE", "GLOBS", "EXPIRES", "REASON"], ...rows]),
      );
      if (found.expired > 0)
        writeOut(2, `${found.expired} expired reservation(s) not shown (pruned at the next change)\n`);
    });
  reserve
    .command("release [globs...]")
    .description("release your reservations: all of them, these globs, or one --id")
    .option("--id <id>", "only this reservation (rsv_…)")
    .option("--json", "{released, pruned}")
    .action(async (globs: string[], opts: { id?: string; json?: boolean }, cmd: Command) => {
      const { releaseReservations } = await import("../../index.ts");
      const done = await releaseReservations({ ...commonOptions(cmd), globs, id: opts.id });
      if (wantsJson(opts, cmd)) return printJson(done);
      pruned(done.pruned);
      const n = done.released.length;
      printText(
        n === 0
          ? "Nothing to release"
          : `Released ${n} reservation(s): ${escapeControls(done.released.flatMap((r) => r.globs).join(" "))}`,
      );
    });
  reserve
    .command("check [paths...]")
    .description("exit 7 when paths (or --staged files) fall under another agent's exclusive reservation")
    .option("--staged", "check the files staged in git (the pre-commit hook)")
    .option("--json", "{ok, checked, conflicts: [{path, glob, reservation}]}")
    .action(async (paths: string[], opts: { staged?: boolean; json?: boolean }, cmd: Command) => {
      const { checkReservations, AbqError } = await import("../../index.ts");
      if (paths.length === 0 && !opts.staged) throw new AbqError("E_USAGE", "give paths to check, or --staged");
      const result = await checkReservations({ ...commonOptions(cmd), paths, staged: opts.staged });
      if (wantsJson(opts, cmd)) printJson(result);
      else if (result.ok) printText(`OK: ${result.checked} path(s), none reserved by another agent`);
      else {
        for (const c of result.conflicts) {
          const r = c.reservation;
          const why = r.reason !== undefined ? `: ${r.reason}` : "";
          writeOut(
            2,
            escapeControls(`${c.path}: reserved by ${r.agent} (${c.glob}) until ${r.expires_at}${why}`) + "\n",
          );
        }
      }
      if (!result.ok) {
        throw new AbqError("E_CONFLICT", `${result.conflicts.length} path(s) reserved by another agent`, {
          hint: "ask them to release it (abq reserve list shows who), or leave those files out",
        });
      }
    });
  withExamples(
    reserve,
    "abq reserve 'src/api/**' --ttl 2h --reason 'refactoring the API'",
    "abq reserve 'docs/*.md' --shared",
    "abq reserve check --staged",
  );
  const examples: Record<string, string[]> = {
    list: ["abq reserve list", "abq reserve list --json | jq -r '.reservations[].globs[]'"],
    release: ["abq reserve release", "abq reserve release 'src/api/**'"],
    check: ["abq reserve check --staged", "abq reserve check src/api/users.ts"],
  };
  for (const sub of reserve.commands) withExamples(sub, ...(examples[sub.name()] ?? []));
}

/** `--json` after a subcommand is read by `reserve` itself (it has the flag too): ask both. */
function wantsJson(opts: { json?: boolean }, cmd: Command): boolean {
  return opts.json === true || cmd.parent?.opts<{ json?: boolean }>().json === true;
}

function pruned(n: number): void {
  if (n > 0) writeOut(2, `pruned ${n} expired reservation(s)\n`);
}
