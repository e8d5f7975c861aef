/**
 * Listing one state of a queue (`abq ls`). Which folder holds a state and which of its entries are
 * messages are counts.ts's rules, shared with `status`.
 */
import { basename, join, sep } from "node:path";
import type { ListEntry, ListState } from "../lifecycle/transport.ts";
import { listDir } from "./files.ts";
import type { Queue } from "./paths.ts";
import { parseRequest, parseResponse, readNote } from "./read.ts";
import { requireQueue } from "./registry.ts";
import { countable, FOLDER, REASON_SUFFIX } from "./counts.ts";
import { RETRY_PREFIX } from "./paths.ts";
import { scanFile, sliceCounter } from "./scan.ts";

export async function countState(q: Queue, state: ListState): Promise<number> {
  await requireQueue(q);
  const dir = q.dir;
  return countable(state, await listDir(join(dir, state))).length;
}

/**
 * One state's entries, read in name order (oldest first unless told otherwise). Reads synchronously in
 * slices (src/spool/scan.ts): a whole-folder listing of 100 000 messages is what `thread` and `search`
 * make, and async reads made it a minute long.
 */
export async function listState(
  q: Queue,
  state: ListState,
  opts: {
    limit: number;
    oldestFirst: boolean;
    maxBytes: number;
    onTotal?: ((total: number) => void) | undefined;
  },
): Promise<ListEntry[]> {
  await requireQueue(q);
  const all = await listDir(join(q.dir, FOLDER[state]));
  const names = countable(state, all).sort();
  opts.onTotal?.(names.length);
  if (!opts.oldestFirst) names.reverse();
  // Reasons are looked up in the listing, not by trying to open one per message.
  const present = new Set(all);
  const entries: ListEntry[] = [];
  const slice = sliceCounter();
  const folder = join(q.dir, FOLDER[state]);
  for (const file of names.slice(0, Math.max(0, opts.limit))) {
    if (slice.due()) await slice.yield();
    const path = `${folder}${sep}${file}`; // path.join per file was a tenth of a 100 000-file listing
    const read = scanFile(path, opts.maxBytes);
    if (read === undefined) continue; // claimed or moved while we listed
    const isResponse = state === "responses" || state === "late" || file.endsWith("_response.json");
    const parsed = read.ok ? (isResponse ? parseResponse(read.text) : parseRequest(read.text)) : read;
    const id = idOfFile(state, file);
    const notePath = reasonPath(q, state, file, id);
    const reason = notePath !== undefined && present.has(basename(notePath)) ? await readNote(notePath) : undefined;
    entries.push({
      id,
      state,
      file: path,
      message: parsed.ok ? parsed.value : undefined,
      problem: parsed.ok ? undefined : parsed.problem,
      ...(reason !== undefined ? { reason } : {}),
      mtimeMs: read.mtimeMs ?? 0,
    });
  }
  return entries;
}

/** The message id a file in `state` holds (late answers and taken claims carry more in their names). */
function idOfFile(state: ListState, file: string): string {
  if (file.startsWith(RETRY_PREFIX)) return file.slice(RETRY_PREFIX.length).split(".")[0]!;
  if (state === "late") return file.split(".")[0]!;
  return file.replace(/(_request|_response)?\.json$/, "");
}

/** Where the reason for a file in `state` is kept, if that state keeps one. */
export function reasonPath(q: Queue, state: ListState, file: string, id: string): string | undefined {
  if (state === "dead" || state === "expired") return join(q.dir, state, `${id}${REASON_SUFFIX}`);
  if (state === "rejected") return join(q.dir, "rejected", `${file}${REASON_SUFFIX}`);
  if (state === "archive") return join(q.dir, "archive", `${id}_reason.json`);
  return undefined;
}
