import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { paint } from "../color.ts";
import { commonOptions, escapeControls, formatAge, printJson, printText, table } from "../output.ts";
import { countColumns, countLabel, countsOf } from "../views.ts";

export function registerStatus(program: Command): void {
  const status = program
    .command("status")
    .description("message counts per channel, one per state, and who you are")
    .option("--json", "print {home, agent, channels: [{name, <one count per state>, ...}]} as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const lib = await import("../../index.ts");
      const common = commonOptions(cmd);
      const [channels, identity] = await Promise.all([lib.status(common), lib.resolveIdentity()]);
      const home = lib.resolveHome(common);
      // Every counted state under its own key, even one a transport left out (then 0): scripts can rely on it.
      if (opts.json)
        return printJson({
          home,
          agent: identity.agent,
          channels: channels.map((c) => ({ ...c, ...countsOf(lib, c) })),
        });
      const head = `${paint(1, "bold", "Home:")} ${home}\n${paint(1, "bold", "Agent:")} ${escapeControls(identity.agent)}\n`;
      if (channels.length === 0) return printText(`${head}\nNo channels (create one: abq channel create <name>)`);
      const { shown, hidden } = countColumns(lib, channels);
      const rows = [
        ["CHANNEL", ...shown.map((c) => countLabel(lib, c).toUpperCase()), "OLDEST"].map((h) => paint(1, "bold", h)),
      ];
      for (const c of channels) {
        rows.push([
          c.subscriber !== undefined ? `${c.name} (as ${c.subscriber})` : c.name,
          ...shown.map((s) => String(c[s] ?? 0)),
          formatAge(c.oldest_pending_age_ms),
        ]);
      }
      const note =
        hidden.length > 0 ? `\n(0 everywhere, not shown: ${hidden.map((c) => countLabel(lib, c)).join(", ")})` : "";
      printText(`${head}\n${table(rows)}${note}`);
    });
  withExamples(status, "abq status", "abq status --json | jq -c '.channels[] | {name, pending}'");
}
