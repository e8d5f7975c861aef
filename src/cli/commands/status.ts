import type { Command } from "commander";
import { commonOptions, formatAge, printJson, printText, table } from "../output.ts";

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("message counts per channel, and who you are")
    .option("--json", "print {home, agent, channels: [...]} as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { status } = await import("../../index.ts");
      const { resolveIdentity } = await import("../../index.ts");
      const { resolveHome } = await import("../../index.ts");
      const common = commonOptions(cmd);
      const [channels, identity] = await Promise.all([status(common), resolveIdentity()]);
      const home = resolveHome(common);
      if (opts.json) return printJson({ home, agent: identity.agent, channels });
      const rows = [["CHANNEL", "PENDING", "CLAIMED", "ANSWERED", "ARCHIVED", "REJECTED", "OLDEST"]];
      for (const c of channels) {
        rows.push([
          c.subscriber !== undefined ? `${c.name} (as ${c.subscriber})` : c.name,
          ...[c.pending, c.processing, c.responses, c.archived, c.rejected].map(String),
          formatAge(c.oldestPendingAgeMs),
        ]);
      }
      const head = `Home: ${home}\nAgent: ${identity.agent}\n`;
      printText(
        channels.length > 0
          ? `${head}\n${table(rows)}`
          : `${head}\nNo channels (create one: abq channel create <name>)`,
      );
    });
}
