/**
 * "Is there mail for me?" — the cheap question agent hooks ask on every turn (`abq check --inbox`), and
 * the blocking form of it (`abq wait`, in wait.ts). Nothing here claims a message: it only looks.
 *
 * Cost of one check on the filesystem spool: one readdir of the pending folder (which also gives the
 * total), plus reading the few files it lists (at most `limit`).
 */
import * as z from "../protocol/zod.ts";
import { lazy } from "../protocol/zod.ts";
import { type CommonOptions, parseInput, recvInput, withTransport } from "../api/options.ts";
import { isAddress, resolveAddress } from "../identity/address.ts";
import { isAbqError } from "../protocol/errors.ts";
import type { Request } from "../protocol/schema.ts";
import { capable, type Transport } from "../lifecycle/transport.ts";
import { resolveHome } from "../spool/paths.ts";

/** How many pending messages a summary lists by default. */
export const DEFAULT_LIST_LIMIT = 10;

export interface PendingMessage {
  id: string;
  /** Set when the file is a valid message. */
  type?: string | undefined;
  from?: string | undefined;
  /** Set on a reply (a `reply_to` delivery): the id of the request it answers. */
  in_reply_to?: string | undefined;
  /**
   * First line of the content, at most 120 characters. A reply's content is its answer as JSON, so for
   * a reply this is `<status>: <first line of the result>` (of the error, for an error answer).
   */
  first_line?: string | undefined;
  /** Why the file could not be read as a message (it will be rejected when claimed). */
  problem?: string | undefined;
}

export interface InboxSummary {
  channel: string;
  /** Set when this is a topic subscriber's copy. */
  subscriber?: string | undefined;
  /** Messages waiting to be claimed. */
  pending: number;
  /** The oldest pending messages, oldest first, at most `limit` of them. */
  messages: PendingMessage[];
}

export interface CheckInboxOptions extends CommonOptions {
  /** Channel name, or `@self` / `@parent`. */
  channel: string;
  /** Look at a topic subscriber's own copies. */
  as?: string | undefined;
  /** Most messages to list. Default: 10. */
  limit?: number | undefined;
}

/** Channel and subscriber are validated exactly as `recv` validates them. */
export const checkInput = lazy(() =>
  z.extend(z.pick(recvInput(), { channel: true, as: true }), {
    limit: z._default(z.int().check(z.positive()), DEFAULT_LIST_LIMIT),
  }),
);

/**
 * Summarises pending mail without claiming any. An `@self` / `@parent` inbox that was never used counts
 * as empty (inboxes are created on first use); any other missing channel is E_NO_CHANNEL.
 */
export async function checkInbox(opts: CheckInboxOptions): Promise<InboxSummary> {
  const channel = await resolveAddress(opts.channel, opts);
  const input = parseInput(checkInput(), { ...opts, channel });
  return withTransport(opts, async (t) => {
    try {
      return await pendingIn(t, input.channel, input.as, input.limit, resolveHome(opts));
    } catch (err) {
      if (isAddress(opts.channel) && isAbqError(err) && err.code === "E_NO_CHANNEL") {
        return emptySummary(input.channel, input.as);
      }
      throw err;
    }
  });
}

/**
 * The pending messages of one queue, through any transport. A message the channel's sender rules will
 * reject at claim (src/security/senders.ts: spoofed, unsigned where signatures are required, not on the
 * allowlist…) is listed with that reason and without its content, like an invalid file: a hook must not
 * put a spoofed sender's words into an agent's context before the claim sets them aside.
 */
export async function pendingIn(
  t: Transport,
  channel: string,
  as: string | undefined,
  limit: number,
  home?: string,
): Promise<InboxSummary> {
  const view = capable(t, "inspect", "abq check --inbox");
  let total: number | undefined;
  const onTotal = (n: number): void => void (total = n);
  const entries = await view.list(channel, "requests", { limit, oldestFirst: true, as, onTotal });
  // A full page may hide more: the total, from the listing when it counted them (the spool), else counted.
  const pending = total ?? (entries.length < limit ? entries.length : await view.count(channel, "requests", { as }));
  const screen = home !== undefined && entries.length > 0 ? await senderScreen(t, channel, home) : undefined;
  const messages = await Promise.all(
    entries.map(async (e): Promise<PendingMessage> => {
      if (e.message === undefined || !("type" in e.message)) return { id: e.id, problem: e.problem ?? "unreadable" };
      const m = e.message as Request;
      const refused = await screen?.(m);
      if (refused !== undefined) return { id: m.id, problem: `will be rejected: ${refused}` };
      const reply = m.in_reply_to !== undefined ? { in_reply_to: firstLine(m.in_reply_to, 80) } : {};
      return { id: m.id, type: m.type, from: m.from.agent, ...reply, first_line: preview(m) };
    }),
  );
  return { ...emptySummary(channel, as), pending: Math.max(pending, messages.length), messages };
}

/**
 * The claim-time sender check, as a function from a message to the reason it will be refused (undefined:
 * it passes). Loaded only when the channel has mail; the rules come from the channel's policy.
 */
async function senderScreen(
  t: Transport,
  channel: string,
  home: string,
): Promise<(m: Request) => Promise<string | undefined>> {
  const { checkSender, needsSenderCheck } = await import("../security/senders.ts");
  const policy = t.capabilities.has("admin")
    ? await capable(t, "admin")
        .policy(channel)
        .catch(() => undefined)
    : undefined;
  const rules = policy ?? { require_signed: false, allow_senders: [], deny_senders: [] };
  return async (m) => {
    if (!needsSenderCheck(rules, m)) return undefined;
    const verdict = await checkSender(home, rules, m).catch(() => undefined); // unreadable keys: claim decides
    return verdict === undefined || verdict.ok ? undefined : verdict.problem;
  };
}

function emptySummary(channel: string, as: string | undefined): InboxSummary {
  return { channel, ...(as !== undefined ? { subscriber: as } : {}), pending: 0, messages: [] };
}

/** What a reminder shows of a message: its first line, or for a reply the answer's status and result. */
function preview(m: Request): string {
  if (m.in_reply_to === undefined) return firstLine(m.content);
  let answer: unknown;
  try {
    answer = JSON.parse(m.content);
  } catch {
    return firstLine(m.content); // a hand-made reply: show it as it is
  }
  if (typeof answer !== "object" || answer === null) return firstLine(m.content);
  const { status, result, error } = answer as Record<string, unknown>;
  if (typeof status !== "string") return firstLine(m.content);
  const word = firstLine(status, 20);
  const text = status === "error" && typeof error === "string" && error !== "" ? error : result;
  const line = typeof text === "string" ? firstLine(text, 120 - word.length - 2) : "";
  return line === "" ? word : `${word}: ${line}`;
}

/** First non-blank line, control characters replaced by spaces, cut to `max` characters. */
export function firstLine(text: string, max = 120): string {
  const line = (text.split(/\r?\n/).find((l) => l.trim() !== "") ?? "").replace(/\p{Cc}/gu, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
