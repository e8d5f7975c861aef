/**
 * The dashboard's JSON endpoints. Reads: one page of a queue's messages, one message with its answer,
 * lease, trace and attachments, a thread. Writes: requeue a dead letter, cancel a pending message, purge a
 * queue. Every one is a call of the public library, exactly what the CLI's command calls, on the bus the
 * dashboard opened.
 */
import { list, purge, show } from "../api/channels.ts";
import { cancel } from "../api/messages.ts";
import type { CommonOptions } from "../api/options.ts";
import { requeue, trace } from "../api/supervise.ts";
import { thread } from "../api/thread.ts";
import type { ListEntry, ListState, Transport } from "../lifecycle/transport.ts";
import { AbqError } from "../protocol/errors.ts";
import { parseListState } from "../lifecycle/states.ts";
import { resolveAddress } from "../identity/address.ts";
import { channelName } from "../protocol/names.ts";
import { indexedPage, INDEXED, type PageRow } from "./pages.ts";
import type { SpoolIndex } from "./spool-index.ts";

/** Messages per page, by default and at most. */
export const PAGE = 50;
const MAX_PAGE = 200;
/**
 * How deep pages go. A listing reads the files of every message up to the page's end, so the deepest
 * page of a 100 000-message queue would read them all; past this the page says to use `abq ls`/`search`.
 */
export const MAX_WINDOW = 5000;
/** Characters of content shown in a list row (the message view shows all of it). */
const PREVIEW = 240;

export type Params = URLSearchParams;
export type Body = Record<string, unknown>;

function param(p: Params, name: string): string {
  const v = p.get(name);
  if (v === null || v === "") throw new AbqError("E_USAGE", `missing parameter: ${name}`);
  return v;
}

function optional(p: Params | Body, name: string): string | undefined {
  const v = p instanceof URLSearchParams ? p.get(name) : p[name];
  if (v === null || v === undefined || v === "") return undefined;
  if (typeof v !== "string") throw new AbqError("E_USAGE", `${name} must be a string`);
  return v;
}

function field(b: Body, name: string): string {
  const v = optional(b, name);
  if (v === undefined) throw new AbqError("E_USAGE", `missing field: ${name}`);
  return v;
}

function whole(p: Params, name: string, dflt: number, max: number): number {
  const v = p.get(name);
  if (v === null || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new AbqError("E_USAGE", `${name} must be a whole number 0–${max}`);
  return n;
}

function row(e: ListEntry): Record<string, unknown> {
  const m = e.message as Record<string, unknown> | undefined;
  const text = typeof m?.["content"] === "string" ? m["content"] : typeof m?.["result"] === "string" ? m["result"] : "";
  return {
    id: e.id,
    state: e.state,
    type: m?.["type"] ?? m?.["status"],
    from: (m?.["from"] as { agent?: unknown } | undefined)?.agent,
    timestamp: m?.["timestamp"],
    attempts: m?.["attempts"],
    thread: m?.["thread"],
    preview: text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text,
    reason: e.reason,
    problem: e.problem,
    mtime: new Date(e.mtimeMs).toISOString(),
  };
}

/** A row of a page read through the index: the message as `show` found it. */
function foundRow({ id, found }: PageRow, state: ListState): Record<string, unknown> {
  const m = (state === "responses" ? found.response : (found.request ?? found.response)) as
    Record<string, unknown> | undefined;
  const at = typeof m?.["timestamp"] === "string" ? Date.parse(m["timestamp"]) : Number.NaN;
  return row({
    id,
    state,
    file: found.files[0] ?? "",
    message: m as ListEntry["message"],
    reason: found.reason,
    mtimeMs: Number.isFinite(at) ? at : 0,
  });
}

export class Api {
  private readonly opts: CommonOptions & { transport: Transport };
  private readonly index: SpoolIndex | undefined;

  constructor(transport: Transport, common: CommonOptions, index?: SpoolIndex) {
    this.opts = { ...common, transport };
    this.index = index;
  }

  /** One page of a queue's state, newest first (or oldest first with `order=oldest`). */
  async page(p: Params): Promise<unknown> {
    const offset = whole(p, "offset", 0, 100_000_000);
    const limit = whole(p, "limit", PAGE, MAX_PAGE);
    const state = p.get("state") ?? "requests";
    const oldestFirst = p.get("order") === "oldest";
    const window = Math.min(MAX_WINDOW, offset + limit);
    const channel = channelName(await resolveAddress(param(p, "channel"), this.opts));
    const as = optional(p, "as");
    const listState = parseListState(state);
    if (this.index !== undefined && as === undefined && INDEXED.has(listState)) {
      // The spool: a slice of the watched names, only the page's messages read (any depth is cheap).
      const rows = await indexedPage(this.index, this.opts, channel, listState, { offset, limit, oldestFirst });
      return { offset, limit, entries: rows.map((r) => foundRow(r, listState)), capped: false, max_window: null };
    }
    if (offset >= MAX_WINDOW) return { offset, limit, entries: [], capped: true, max_window: MAX_WINDOW };
    const entries = await list({
      ...this.opts,
      channel,
      state,
      as,
      limit: window,
      oldestFirst,
    });
    return {
      offset,
      limit,
      entries: entries.slice(offset, window).map(row),
      capped: offset + limit > MAX_WINDOW,
      max_window: MAX_WINDOW,
    };
  }

  /** One message wherever it is: request, answer, state and reason, lease, trace, attachments. */
  async message(p: Params): Promise<unknown> {
    const id = param(p, "id");
    const channel = optional(p, "channel");
    const found = await show({ ...this.opts, id, channel });
    const t = this.opts.transport;
    const events = t.capabilities.has("supervise")
      ? await trace({ ...this.opts, id, channel: found.channel }).catch(() => undefined)
      : undefined;
    const attachments = (found.request as Record<string, unknown> | undefined)?.["attachments"];
    return {
      ...found,
      trace: events ?? null,
      trace_note: events === undefined ? `the ${t.scheme} transport keeps no event log` : undefined,
      attachments: Array.isArray(attachments) ? attachments : [],
    };
  }

  async thread(p: Params): Promise<unknown> {
    return thread({ ...this.opts, id: param(p, "id") });
  }

  /** Moves one dead letter back to pending (`abq requeue <channel> --from-dead --id <id>`). */
  async requeue(b: Body): Promise<unknown> {
    this.need("supervise", "requeue from dead");
    const results = await requeue({
      ...this.opts,
      channel: field(b, "channel"),
      ids: [field(b, "id")],
      fromDead: true,
    });
    if (results.length === 0) throw new AbqError("E_NO_MESSAGE", `no dead letter ${field(b, "id")} to requeue`);
    return { results };
  }

  /** Withdraws one pending message (`abq cancel`). */
  async cancel(b: Body): Promise<unknown> {
    const channel = field(b, "channel");
    const id = field(b, "id");
    const as = optional(b, "as");
    await cancel({ ...this.opts, channel, id, ...(as !== undefined ? { as } : {}) });
    return { channel, id, cancelled: true };
  }

  /** Withdraws every pending message of a queue (`abq purge`); `confirm` must repeat the channel's name. */
  async purge(b: Body): Promise<unknown> {
    const channel = field(b, "channel");
    if (b["confirm"] !== channel)
      throw new AbqError("E_USAGE", "purge needs confirm: the channel's name, repeated", {
        hint: "nothing was purged",
      });
    const ids = await purge({ ...this.opts, channel, as: optional(b, "as"), reason: "purged from abq ui" });
    return { channel, purged: ids.length };
  }

  private need(cap: "supervise", what: string): void {
    if (!this.opts.transport.capabilities.has(cap))
      throw new AbqError("E_USAGE", `the ${this.opts.transport.scheme} transport cannot ${what}`);
  }
}
