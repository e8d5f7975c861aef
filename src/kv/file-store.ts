/**
 * The spool's compare-and-set register: one folder per key, holding exactly one `head.<revision>` file.
 *
 *   put(key, record, E):  write the record to `.stage-<pid>-<rand>` (fsynced)
 *                         rename head.E -> .commit-E-<pid>-<rand>   the CAS: only one renamer of head.E wins
 *                         rename the staged file -> head.<E+1>       nobody else can create it
 *                         fsync the folder, remove the .commit file
 *   put(key, record, 0):  a new key is a staged folder `.new-<pid>-<rand>/head.1` renamed to `<key>`; rename
 *                         onto a folder that is not empty fails, so exactly one creator wins.
 *
 * A writer killed after taking the slot leaves no head, only its `.commit-E-…` file (the old record). The
 * next reader sees that its pid is gone (or, pids being reused, that the file is 10 minutes old) and renames
 * it back to head.E: the interrupted put never happened — unless the folder, listed again after that, holds
 * a later head or slot (the writer published head.E+1 before it died; see removeLitter). A live
 * committer's slot is waited for: it lasts one rename. An older head beside the newest is removed.
 * Leftover staging files of dead writers are removed as they are seen. Key folders are never removed
 * (a stale writer that still expects "no key" must keep failing), so a deleted key is a tombstone record.
 */
import * as fs from "../fs-promised.ts";
import { dirname, join } from "node:path";
import { AbqError, errnoCode, ioError, isAbqError } from "../protocol/errors.ts";
import { randomHex, sleep } from "../protocol/random.ts";
import {
  DIR_MODE,
  ensureDir,
  listDir,
  readBounded,
  resolveFsync,
  syncDir,
  tryRename,
  writeNewFile,
} from "../spool/files.ts";
import { assertSafeDir, assertUsableHome } from "../spool/safety.ts";
import type { Entry, RevStore, StoredRecord } from "./types.ts";
import { KEY_PATTERN } from "./names.ts";

const HEAD = /^head\.(\d{1,15})$/;
const LITTER = /^\.(commit|stage|new)-(?:(\d+)-)?(\d+)-[0-9a-f]+$/;
/** A commit slot or staging file this old belongs to nobody, whatever its pid says (pids are reused). */
const STALE_MS = 10 * 60_000;
/** Longest wait for a live writer's commit slot (it normally lasts one rename). */
const SLOT_WAIT_MS = 5_000;
export const MAX_RECORD_BYTES = 1024 * 1024;
const WATCH_POLL_MS = 50;
/** Folders this process has checked for links and foreign owners. */
const safe = new Set<string>();

export class FileStore implements RevStore {
  readonly where: string;
  private readonly sync: boolean;
  private readonly home: string;
  private readonly root: string;

  constructor(home: string, root: string, fsync?: boolean) {
    this.home = home;
    this.root = root;
    this.where = root;
    this.sync = resolveFsync({ fsync });
  }

  /** Refuses links and foreign folders on the way (once per process); makes the root when writing. */
  private async ready(create: boolean, key?: string): Promise<void> {
    if (!safe.has(this.root)) {
      await assertUsableHome(this.home);
      for (let d = this.root; d.startsWith(this.home); d = dirname(d)) {
        await assertSafeDir(d, d === this.home ? "bus home" : "folder");
        if (d === this.home) break;
      }
      if (create) await ensureDir(this.root);
      if (create || (await fs.lstat(this.root).catch(() => undefined))) safe.add(this.root);
    }
    const dir = key === undefined ? undefined : join(this.root, key);
    if (dir !== undefined && !safe.has(dir)) {
      await assertSafeDir(dir, "folder");
      if (await fs.lstat(dir).catch(() => undefined)) safe.add(dir);
    }
  }

  async get(key: string): Promise<Entry | undefined> {
    await this.ready(false, key);
    const dir = join(this.root, key);
    const deadline = Date.now() + SLOT_WAIT_MS;
    for (;;) {
      const names = await listDir(dir);
      // One head, except after a writer stalled 10 minutes inside its commit: the newest wins.
      const [head, ...older] = names
        .map((n) => HEAD.exec(n))
        .filter((m) => m !== null)
        .sort((a, b) => Number(b[1]) - Number(a[1]));
      if (head) {
        const record = await this.read(join(dir, head[0]));
        if (record === undefined) continue; // moved by a committer just now: read the new head
        if (names.length > 1) await removeLitter(dir, names, false);
        // An older head is never current again, and a put against it would hand the key out twice.
        for (const stale of older) await fs.removeFile(join(dir, stale[0])).catch(() => undefined);
        return { key, revision: Number(head[1]), record };
      }
      const slots = names.filter((n) => n.startsWith(".commit-"));
      if (slots.length === 0) {
        // A key folder always holds a head or a commit slot; anything else in it is litter or tampering,
        // and a folder that is not empty would make every "create" of the key fail forever.
        if (names.length === 0 || ((await removeLitter(dir, names, false)) > 0 && (await listDir(dir)).length === 0))
          return undefined;
        throw new AbqError("E_IO", `${dir} holds no head.<revision> file (edited by hand?)`, {
          hint: "remove the key's folder to reset it",
        });
      }
      if ((await removeLitter(dir, names, true)) === 0) {
        if (Date.now() > deadline) {
          throw new AbqError("E_IO", `${dir}: a writer has held its commit slot for over ${SLOT_WAIT_MS} ms`);
        }
        await sleep(1);
      }
    }
  }

  private async read(path: string): Promise<StoredRecord | undefined> {
    let text: string;
    try {
      text = await readBounded(path, MAX_RECORD_BYTES);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined;
      if (errnoCode(err) === "ELOOP" || (isAbqError(err) && err.code === "E_BAD_MESSAGE")) {
        throw new AbqError("E_UNSAFE", `${path} is a symbolic link or not a regular file: abq does not follow it`, {
          hint: "remove the key's folder to reset it",
        });
      }
      throw ioError(`cannot read ${path}`, err);
    }
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as StoredRecord;
    } catch {
      // reported below
    }
    throw new AbqError("E_IO", `${path} is not a JSON object (edited by hand?)`, {
      hint: "remove the key's folder to reset it",
    });
  }

  async put(key: string, record: StoredRecord, expected: number): Promise<number | undefined> {
    await this.ready(true, key);
    const data = `${JSON.stringify(record)}\n`;
    if (data.length > MAX_RECORD_BYTES) throw new AbqError("E_TOO_LARGE", `record is over ${MAX_RECORD_BYTES} bytes`);
    const dir = join(this.root, key);
    const tag = `${process.pid}-${randomHex(4)}`;
    if (expected === 0) return this.create(dir, data, tag);
    const staged = join(dir, `.stage-${tag}`);
    try {
      await writeNewFile(staged, data, this.sync);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return undefined; // no such key: it is not at revision `expected`
      throw ioError(`cannot write in ${dir}`, err);
    }
    const slot = join(dir, `.commit-${expected}-${tag}`);
    if (!(await tryRename(join(dir, `head.${expected}`), slot))) {
      await fs.removeFile(staged).catch(() => undefined);
      return undefined;
    }
    await fs.rename(staged, join(dir, `head.${expected + 1}`));
    if (this.sync) await syncDir(dir);
    await fs.removeFile(slot);
    return expected + 1;
  }

  private async create(dir: string, data: string, tag: string): Promise<number | undefined> {
    const fresh = join(this.root, `.new-${tag}`);
    await fs.mkdir(fresh, { mode: DIR_MODE });
    try {
      await writeNewFile(join(fresh, "head.1"), data, this.sync);
      if (this.sync) await syncDir(fresh);
      await fs.rename(fresh, dir);
    } catch (err) {
      await fs.rm(fresh, { recursive: true, force: true }).catch(() => undefined);
      if (errnoCode(err) === "ENOTEMPTY" || errnoCode(err) === "EEXIST") return undefined;
      throw ioError(`cannot create ${dir}`, err);
    }
    if (this.sync) await syncDir(this.root);
    return 1;
  }

  async keys(): Promise<string[]> {
    await this.ready(false);
    const names = await listDir(this.root);
    if (names.some((n) => n.startsWith(".new-"))) await removeLitter(this.root, names, false);
    return names.filter((n) => KEY_PATTERN.test(n)).sort();
  }

  async *watch(key: string | undefined, signal: AbortSignal): AsyncIterable<Entry> {
    const seen = new Map<string, number>();
    while (!signal.aborted) {
      for (const k of key !== undefined ? [key] : await this.keys()) {
        const entry = await this.get(k);
        if (entry !== undefined && entry.revision > (seen.get(k) ?? 0)) {
          seen.set(k, entry.revision);
          yield entry;
        }
      }
      await sleep(WATCH_POLL_MS, signal);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Removes what dead writers left in `dir` (their pid is gone, or the file is older than STALE_MS). With
 * `restore`, a dead writer's commit slot goes back to being the head, unless the writer got as far as
 * publishing the next head. Returns how many it handled. Exported for test/kv-hostile.test.ts.
 */
export async function removeLitter(dir: string, names: string[], restore: boolean): Promise<number> {
  let handled = 0;
  for (const name of names) {
    const m = LITTER.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const st = await fs.lstat(path).catch(() => undefined);
    if (!st || (pidAlive(Number(m[3])) && Date.now() - st.mtimeMs < STALE_MS)) continue;
    // `names` may predate the writer's last rename (head.E+1); listed again now that it is dead, the folder
    // tells. Put back beside a later head, head.E would let a second put win E+1 (two holders of a lock).
    if (m[1] === "commit" && restore && !superseded(await listDir(dir), Number(m[2]))) {
      if (await tryRename(path, join(dir, `head.${m[2]}`))) handled++;
    } else {
      await fs.rm(path, { recursive: true, force: true }).catch(() => undefined);
      handled++;
    }
  }
  return handled;
}

/** Whether a head or commit slot of a revision after `revision` is among `names`. */
function superseded(names: string[], revision: number): boolean {
  const revisionOf = (n: string): string | undefined => HEAD.exec(n)?.[1] ?? /^\.commit-(\d+)-/.exec(n)?.[1];
  return names.some((n) => Number(revisionOf(n) ?? -1) > revision);
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}
