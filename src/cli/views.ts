/**
 * How the CLI shows states, counts and reasons. The states come from the library's table
 * (src/lifecycle/states.ts), passed in by the caller: a command module may not import the library at
 * the top (it would load with `abq --help`, see scripts/bundle.mjs), so each action hands over what it
 * loaded with `await import(…)`.
 */
import type { AttachmentRef } from "../attach/types.ts";
import type { ChannelStatus, Lease } from "../lifecycle/transport.ts";
import type { CountedState, StateInfo, StateName } from "../lifecycle/states.ts";
import { escapeControls, oneLine } from "./output.ts";

/** The part of the library's state table the views read. */
export interface StateTable {
  STATES: Readonly<Record<StateName, StateInfo>>;
  COUNTED_STATES: readonly CountedState[];
}

/**
 * A count's name as people read it: the state it counts (`processing` counts `claimed` messages), or
 * the count's own key where several states share it (`archived`: done, acknowledged, withdrawn).
 */
export function countLabel(table: StateTable, counted: CountedState): string {
  const states = Object.values(table.STATES).filter((s) => s.counted === counted);
  return states.length === 1 && states[0] !== undefined ? states[0].name : counted;
}

/**
 * Counts a table always shows, so a queue's progress (and its failures) never vanish from view; the
 * others are shown when some row has one, and named in a footnote otherwise (nothing hides silently).
 */
const ALWAYS_SHOWN: ReadonlySet<CountedState> = new Set([
  "pending",
  "delayed",
  "processing",
  "responses",
  "archived",
  "dead",
]);

export function countColumns(
  table: StateTable,
  rows: ChannelStatus[],
): { shown: CountedState[]; hidden: CountedState[] } {
  const shown: CountedState[] = [];
  const hidden: CountedState[] = [];
  for (const c of table.COUNTED_STATES)
    (ALWAYS_SHOWN.has(c) || rows.some((r) => (r[c] ?? 0) > 0) ? shown : hidden).push(c);
  return { shown, hidden };
}

/** Every count of a queue under its own key, zero where the transport reported none. */
export function countsOf(table: StateTable, status: ChannelStatus): Record<CountedState, number> {
  return Object.fromEntries(table.COUNTED_STATES.map((c) => [c, status[c] ?? 0])) as Record<CountedState, number>;
}

/** `expired 3 message(s) (TTL ran out; see: abq ls q expired)`: what a claim set aside on the way. */
export function skippedLine(channel: string, expired: number, rejected: number): string {
  const parts: string[] = [];
  if (expired > 0) parts.push(`expired ${expired} message(s) (TTL ran out; see: abq ls ${channel} expired)`);
  if (rejected > 0)
    parts.push(
      `rejected ${rejected} (invalid, or refused by the channel's sender rules; see: abq ls ${channel} rejected)`,
    );
  return parts.join(", ");
}

/** A reason record in one line, for `ls`: `handler failed: boom; exit 3` or `ttl 300s, sent …`. */
export function reasonSummary(reason: Record<string, unknown> | undefined): string {
  if (reason === undefined) return "";
  const r = (key: string): string | undefined => scalar(reason[key]);
  if (r("ttl") !== undefined) return oneLine(`ttl ${r("ttl")}s, sent ${r("sent") ?? "?"}`, 80);
  const error = r("error");
  const parts = [r("reason"), error !== r("reason") ? error : undefined, r("exit_code") && `exit ${r("exit_code")}`];
  if (r("by") !== undefined && !(r("reason") ?? "").includes(r("by") ?? "")) parts.push(`by ${r("by")}`);
  return oneLine(parts.filter((p) => p !== undefined && p !== "").join("; "), 80);
}

const LABELS: Record<string, string> = {
  reason: "Reason",
  error: "Last error",
  exit_code: "Exit code",
  attempts: "Attempts",
  ttl: "TTL",
  sent: "Sent",
  expired_at: "Expired at",
  rejected_at: "Rejected at",
  by: "By",
  at: "At",
  stderr_tail: "Stderr tail",
  terminated: "Terminated",
};
/** Restated elsewhere in `show` (the id, the state) or of no use to a reader (the recording pid). */
const UNSHOWN = new Set(["id", "state", "file", "pid"]);

/** A reason record for `show`, one field per line; fields it has no label for are shown by key. */
export function reasonLines(reason: Record<string, unknown> | undefined): string[] {
  if (reason === undefined) return [];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(reason)) {
    if (UNSHOWN.has(key) || value === undefined || value === null) continue;
    const label = LABELS[key] ?? key;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (key === "stderr_tail")
      lines.push(
        `${label}:`,
        ...escapeControls(text)
          .trimEnd()
          .split("\n")
          .map((l) => `  | ${l}`),
      );
    else lines.push(`${label}: ${escapeControls(text)}${key === "ttl" ? "s" : ""}`);
  }
  return lines;
}

/** `Lease: <token> held by <agent> (pid 12 on host), attempt 1, until <deadline>`. */
export function leaseLine(lease: Lease): string {
  const o = lease.owner;
  return `Lease: ${lease.token} held by ${escapeControls(o.agent)} (pid ${o.pid} on ${escapeControls(o.host)}), attempt ${lease.attempt}, until ${lease.deadline}`;
}

function scalar(value: unknown): string | undefined {
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

/** One line per attachment of the message and of its answer, and how to get them. */
export function attachmentLines(id: string, ...messages: ({ attachments?: unknown } | undefined)[]): string[] {
  const refs = messages.flatMap((m) => (Array.isArray(m?.attachments) ? (m.attachments as AttachmentRef[]) : []));
  if (refs.length === 0) return [];
  return [
    ...refs.map(
      (r) => `Attachment: ${escapeControls(String(r.name))} (${r.size} bytes, ${escapeControls(String(r.media_type))})`,
    ),
    `Attachments: abq attachment ${id} [name] [-o path]`,
  ];
}
