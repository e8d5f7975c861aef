/**
 * The one-line view of a message that `abq search` and `abq thread` print: send time, channel, state,
 * sender, type and the first line of its content, in aligned columns, control characters escaped.
 */
import type { Request } from "../protocol/schema.ts";
import { paintState } from "./color.ts";
import { escapeControls } from "./output.ts";

export interface MessageRow {
  channel: string;
  state: string;
  request: Request;
}

/** One aligned line per message, in the order given. */
export function messageRows(rows: MessageRow[]): string[] {
  const from = (m: MessageRow): string => escapeControls(m.request.from.agent);
  const width = (pick: (m: MessageRow) => string): number => Math.max(0, ...rows.map((m) => pick(m).length));
  const [channelW, stateW, fromW] = [width((m) => m.channel), width((m) => m.state), width(from)];
  return rows.map((m) =>
    [
      sendTime(m.request.timestamp),
      m.channel.padEnd(channelW),
      paintState(1, m.state) + " ".repeat(stateW - m.state.length),
      from(m).padEnd(fromW),
      m.request.type.padEnd(7),
      firstLine(m.request.content),
    ]
      .join("  ")
      .trimEnd(),
  );
}

/** `2026-11-21T05:36:49.944Z`: the send time in UTC, as far as it parses. */
function sendTime(timestamp: string): string {
  const ms = Date.parse(timestamp);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : escapeControls(timestamp);
}

/** The first line of a text, control characters escaped, cut to 80 characters. */
export function firstLine(text: string): string {
  const line = escapeControls(text.split(/\r?\n/, 1)[0] ?? "");
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
