/**
 * The spool's compare-and-set register: one folder per key, holding exactly one `head.<revision>` file.
 *
 *   put(key, record, E):  write the record to `.stage-<pid>-<rand>` (fsynced)
 *                         rename head.E -> .commit-E-<pid>-<rand>   the CAS: only one renamer of head.E wins
 *                         link the staged file -> head.<E+1>         never replaces one; then unlink it
 *                         fsync the folder, remove the .commit file
 *   put(key, record, 0):  a new key is a staged folder `.new-<pid>-<rand>/head.1` renamed to `<key>`; rename
 *                         onto a folder that is not empty fails, so exactly one creator wins.
 *
 * A writer killed after taking the slot leaves no head, only its `.commit-E-…` file (the old record). The
 * next reader sees that its pid is gone (or, pids being reused, that it was taken 10 minutes ago) and renames
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
import { HEAD, removeLitter } from "./file-litter.ts";

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
    // link, not rename: it never replaces a head.<E+1> that is there already. One can be there only if
    // this writer stalled past STALE_MS (file-litter.ts), its slot was taken for abandoned, and the key moved on: then this
    // put lost, and says so, instead of silently replacing a put that won.
    try {
      await fs.link(staged, join(dir, `head.${expected + 1}`));
    } catch (err) {
      await fs.removeFile(staged).catch(() => undefined);
      if (errnoCode(err) === "EEXIST") return (await fs.removeFile(slot).catch(() => undefined), undefined);
      throw ioError(`cannot write in ${dir}`, err);
    }
    await fs.removeFile(staged);
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
