/**
 * The work of `abq status`: shared by its commander command (src/cli/commands/status.ts) and the fast
 * path (src/cli/fast.ts), so both print the same thing. Nothing here loads commander; the core is loaded
 * only when the counts were not already found without it (src/spool/status-plain.ts).
 */
import type { CommonOptions } from "../../api/options.ts";
import { resolveIdentity } from "../../identity/index.ts";
import type { ChannelStatus } from "../../lifecycle/transport.ts";
import { COUNTED_STATES, STATES } from "../../lifecycle/states.ts";
import { resolveHome } from "../../spool/paths.ts";
import { paint } from "../color.ts";
import { escapeControls, formatAge, printJson, printText, table } from "../output.ts";
import { countColumns, countLabel, countsOf } from "../views.ts";

const TABLE = { STATES, COUNTED_STATES };

/** `known`: the counts already found without the core, used as the library's. */
export async function statusAction(common: CommonOptions, json: boolean, known?: ChannelStatus[]): Promise<void> {
  const counts = async (): Promise<ChannelStatus[]> => known ?? (await (await import("../../index.ts")).status(common));
  const [channels, identity] = await Promise.all([counts(), resolveIdentity()]);
  const home = resolveHome(common);
  // Every counted state under its own key, even one a transport left out (then 0): scripts can rely on it.
  if (json)
    return printJson({
      home,
      agent: identity.agent,
      channels: channels.map((c) => ({ ...c, ...countsOf(TABLE, c) })),
    });
  const head = `${paint(1, "bold", "Home:")} ${home}\n${paint(1, "bold", "Agent:")} ${escapeControls(identity.agent)}\n`;
  if (channels.length === 0) return printText(`${head}\nNo channels (create one: abq channel create <name>)`);
  const { shown, hidden } = countColumns(TABLE, channels);
  const rows = [
    ["CHANNEL", ...shown.map((c) => countLabel(TABLE, c).toUpperCase()), "OLDEST"].map((h) => paint(1, "bold", h)),
  ];
  for (const c of channels) {
    rows.push([
      c.subscriber !== undefined ? `${c.name} (as ${c.subscriber})` : c.name,
      ...shown.map((s) => String(c[s] ?? 0)),
      formatAge(c.oldest_pending_age_ms),
    ]);
  }
  const note =
    hidden.length > 0 ? `\n(0 everywhere, not shown: ${hidden.map((c) => countLabel(TABLE, c)).join(", ")})` : "";
  printText(`${head}\n${table(rows)}${note}`);
}
