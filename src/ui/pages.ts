/**
 * One page of a deep queue on the file spool without listing its folder: the names come from the
 * dashboard's index (spool-index.ts), sorted once per change, and only the page's messages are read,
 * each through the library's `show` (its safety checks and state rules). A message that moved on
 * meanwhile is shown where it is now, or left out when it is gone.
 */
import { show } from "../api/channels.ts";
import type { CommonOptions } from "../api/options.ts";
import type { FoundMessage, ListState } from "../lifecycle/transport.ts";
import { isAbqError } from "../protocol/errors.ts";
import { RETRY_PREFIX } from "../spool/paths.ts";
import type { SpoolIndex } from "./spool-index.ts";

/** The states whose file names hold just the message id (late answers and rejected files do not). */
export const INDEXED: ReadonlySet<ListState> = new Set<ListState>([
  "requests",
  "delayed",
  "processing",
  "responses",
  "archive",
  "dead",
  "expired",
]);

/** The message id a countable file name of `state` holds. */
function idOf(name: string): string {
  const bare = name.startsWith(RETRY_PREFIX) ? name.slice(RETRY_PREFIX.length) : name;
  return bare.replace(/(_request)?\.json$/, "").split(".")[0]!;
}

export interface PageRow {
  id: string;
  found: FoundMessage;
}

export async function indexedPage(
  index: SpoolIndex,
  opts: CommonOptions,
  channel: string,
  state: ListState,
  window: { offset: number; limit: number; oldestFirst: boolean },
): Promise<PageRow[]> {
  const names = await index.sorted({ name: channel }, state);
  const { offset, limit } = window;
  const slice = window.oldestFirst
    ? names.slice(offset, offset + limit)
    : names.slice(Math.max(0, names.length - offset - limit), Math.max(0, names.length - offset)).reverse();
  const rows: PageRow[] = [];
  for (const name of slice) {
    const id = idOf(name);
    const found = await show({ ...opts, id, channel }).catch((err: unknown) => {
      if (isAbqError(err) && err.code === "E_NO_MESSAGE") return undefined; // gone meanwhile
      throw err;
    });
    if (found !== undefined) rows.push({ id, found });
  }
  return rows;
}
