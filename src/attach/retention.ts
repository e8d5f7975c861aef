/**
 * Retention of blobs, the last pass of a whole-bus `abq sweep`: a blob goes once no message that still
 * exists (in any state, any channel, any topic subscriber) references it. Messages themselves go when the
 * sweep prunes them (retain_s), when a channel is removed, or by hand; their blobs follow on the next sweep.
 *
 * The race with a send that reuses (or is writing) a blob the sweep judged unreferenced is closed by a
 * documented sequence. A send: (1) stages and hashes the blob, (2) pins it (`blobs/pins/<sha256>.*`),
 * (3) links it into place (an existing copy gets a fresh mtime), (4) delivers its message, (5) unpins.
 * The sweep: (a) takes unreferenced candidates older than the grace window, (b) moves each out of place
 * with one rename into `blobs/trash/`, (c) then looks for pins and (d) scans the messages again, and
 * puts back every blob pinned or referenced by then. A send that linked before (b) pinned before (c) and
 * is seen there, or its message is seen in (d) if it already unpinned; a send that links after (b) finds
 * no blob in place and links its own copy. A sweep killed between (b) and the end leaves blobs in
 * `trash/`, which the next sweep puts back first.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { randomHex } from "../protocol/random.ts";
import { listDir, pathExists } from "../spool/files.ts";
import { FileBlobStore, ignoreGone } from "./file-store.ts";
import { refsOf, SHA256_PATTERN } from "./types.ts";

export interface BlobSweepReport {
  /** Blobs removed (or, in a dry run, that would be). */
  removed: number;
  bytes_removed: number;
  /** Blobs kept: referenced, pinned by a send in progress, or younger than the grace window. */
  kept: number;
}

export interface BlobSweepOptions {
  dryRun?: boolean | undefined;
  /** Blobs written or reused more recently than this are kept regardless. Default: ABQ_BLOB_GRACE_S or 600 s. */
  graceMs?: number | undefined;
}

/** Pins older than this belong to a send that died; they no longer protect anything. */
const PIN_MAX_AGE_MS = 3600 * 1000;

export function defaultGraceMs(): number {
  const n = Number(process.env["ABQ_BLOB_GRACE_S"] ?? "");
  return process.env["ABQ_BLOB_GRACE_S"] !== undefined && Number.isFinite(n) && n >= 0 ? n * 1000 : 600_000;
}

/** Removes unreferenced blobs from the bus at `home`; see the header for why it is safe alongside sends. */
export async function sweepBlobs(home: string, opts: BlobSweepOptions = {}): Promise<BlobSweepReport> {
  const report: BlobSweepReport = { removed: 0, bytes_removed: 0, kept: 0 };
  const store = new FileBlobStore(home, true);
  if (!(await pathExists(store.root))) return report;
  await store.ready();
  const trash = join(store.root, "trash");
  if (!opts.dryRun) for (const name of await listDir(trash)) if (!sweeperAlive(name)) await restore(store, trash, name);
  const cutoff = Date.now() - (opts.graceMs ?? defaultGraceMs());
  const blobs = await listBlobs(store);
  const old = blobs.filter((b) => b.mtimeMs < cutoff);
  report.kept = blobs.length - old.length;
  if (old.length === 0) return report;

  const first = await referencedBlobs(home);
  const candidates = old.filter((b) => !first.has(b.sha256));
  report.kept += old.length - candidates.length;
  if (opts.dryRun) {
    const pinned = await pinnedBlobs(store, false);
    for (const b of candidates) {
      if (pinned.has(b.sha256)) {
        report.kept++;
      } else {
        report.removed++;
        report.bytes_removed += b.size;
      }
    }
    return report;
  }
  const moved: { sha256: string; name: string; size: number }[] = [];
  for (const b of candidates) {
    const name = `${b.sha256}.${process.pid}.${randomHex(4)}`;
    const ok = await fs.rename(store.blobPath(b.sha256), join(trash, name)).then(() => true, ignoreGone);
    if (ok) moved.push({ sha256: b.sha256, name, size: b.size });
  }
  if (moved.length === 0) return report;
  const pinned = await pinnedBlobs(store, true);
  const second = await referencedBlobs(home);
  for (const m of moved) {
    if (pinned.has(m.sha256) || second.has(m.sha256)) {
      await restore(store, trash, m.name);
      report.kept++;
    } else {
      await fs.removeFile(join(trash, m.name));
      report.removed++;
      report.bytes_removed += m.size;
    }
  }
  return report;
}

/** Whether the sweep that trashed `name` (`<sha256>.<pid>.<rand>`) still runs: its trash is its own to finish. */
function sweeperAlive(name: string): boolean {
  const pid = Number(name.split(".")[1]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}

/** Puts a trashed blob back in place (a copy linked there meanwhile has the same bytes), then drops the trash name. */
async function restore(store: FileBlobStore, trash: string, name: string): Promise<void> {
  const sha256 = name.split(".")[0] ?? "";
  if (SHA256_PATTERN.test(sha256)) {
    await fs.mkdir(join(store.root, "sha256", sha256.slice(0, 2)), { mode: 0o700 }).catch(() => undefined);
    await fs.link(join(trash, name), store.blobPath(sha256)).catch((err: unknown) => {
      if (errnoCode(err) !== "EEXIST" && errnoCode(err) !== "ENOENT") throw err;
    });
  }
  await fs.removeFile(join(trash, name));
}

async function listBlobs(store: FileBlobStore): Promise<{ sha256: string; mtimeMs: number; size: number }[]> {
  const out: { sha256: string; mtimeMs: number; size: number }[] = [];
  const base = join(store.root, "sha256");
  for (const prefix of await listDir(base)) {
    for (const name of await listDir(join(base, prefix))) {
      if (!SHA256_PATTERN.test(name) || name.slice(0, 2) !== prefix) continue;
      const st = await fs.lstat(join(base, prefix, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ sha256: name, mtimeMs: st.mtimeMs, size: st.size });
    }
  }
  return out;
}

/** Blobs pinned by sends in progress; pins of sends that died long ago are removed (`tidy`) or ignored. */
async function pinnedBlobs(store: FileBlobStore, tidy: boolean): Promise<Set<string>> {
  const dir = join(store.root, "pins");
  const pinned = new Set<string>();
  const now = Date.now();
  for (const name of await listDir(dir)) {
    const st = await fs.lstat(join(dir, name)).catch(() => undefined);
    if (!st) continue;
    if (now - st.mtimeMs > PIN_MAX_AGE_MS) {
      if (tidy) await fs.removeFile(join(dir, name)).catch(() => undefined);
      continue;
    }
    pinned.add(name.split(".")[0] ?? "");
  }
  return pinned;
}

/**
 * The sha256 of every blob any message file of the bus references: requests and answers in every state
 * folder, and answers carried inside reply_to deliveries (their content is the answer's JSON). Folders are
 * read in lifecycle order (a claim moves a message from one read earlier to one read later).
 */
export async function referencedBlobs(home: string): Promise<Set<string>> {
  const refs = new Set<string>();
  const channels = join(home, "channels");
  for (const name of await listDir(channels)) {
    if (name.startsWith(".")) continue;
    await scanQueue(join(channels, name), refs);
  }
  return refs;
}

const ORDER = ["delayed", "fanout", "requests", "processing", "responses", "archive", "dead", "expired", "late"];

async function scanQueue(dir: string, refs: Set<string>): Promise<void> {
  const present = new Set(await listDir(dir));
  const folders = [...ORDER.filter((f) => present.has(f)), ...[...present].filter((f) => f === "rejected")];
  for (const folder of folders) {
    for (const file of await listDir(join(dir, folder))) {
      if (file.endsWith(".json")) await collect(join(dir, folder, file), refs);
    }
  }
  for (const sub of present.has("subscribers") ? await listDir(join(dir, "subscribers")) : []) {
    await scanQueue(join(dir, "subscribers", sub), refs);
  }
}

async function collect(path: string, refs: Set<string>): Promise<void> {
  const text = await fs.readFile(path, "utf8").catch(() => "");
  if (!text.includes("sha256")) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const message = value as Record<string, unknown>;
  for (const r of refsOf(message)) refs.add(r.sha256);
  const content = message["content"];
  if (typeof content === "string" && content.startsWith("{") && content.includes("sha256")) {
    try {
      for (const r of refsOf(JSON.parse(content) as Record<string, unknown>)) refs.add(r.sha256);
    } catch {
      // not JSON: plain content that merely mentions sha256
    }
  }
}
