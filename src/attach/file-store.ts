/**
 * The blob store on disk: `$ABQ_HOME/blobs/sha256/<first two hex>/<sha256>`, one immutable 0600 file per
 * distinct content. A blob is written to `blobs/tmp/` while it is hashed, fsynced, then link(2)ed into
 * place, which never replaces: two writers of the same bytes both succeed and one copy stays (dedup).
 * Every folder is checked (a real folder, ours, not writable by others) before anything is written or
 * read through it, so a planted symbolic link cannot redirect a blob.
 *
 * Retention (retention.ts) needs to know which blobs a send is about to reference: a send pins each blob
 * (`blobs/pins/<sha256>.<pid>.<rand>`) before linking it into place, and drops the pins once its message
 * is delivered.
 */
import { constants, createReadStream, write } from "node:fs";
import { promisify } from "node:util";
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode, ioError } from "../protocol/errors.ts";
import { nodeCrypto, randomHex } from "../protocol/random.ts";
import { assertSafeDir } from "../spool/safety.ts";
import { DIR_MODE, FILE_MODE, stagingPath, syncDir } from "../spool/files.ts";
import type { AttachmentRef } from "./types.ts";

const writeFd = promisify(write);

/** Bytes to store: a stream, or chunks already in memory. */
export type BlobSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Largest attachment (bytes), so `yes | abq send c command -` cannot fill the disk: ABQ_MAX_ATTACHMENT_BYTES, default 4 GiB. */
export function maxAttachmentBytes(): number {
  const n = Number(process.env["ABQ_MAX_ATTACHMENT_BYTES"] ?? "");
  return Number.isSafeInteger(n) && n > 0 ? n : 4 * 1024 ** 3;
}

export interface StoredBlob {
  sha256: string;
  size: number;
}

/** Pins taken by one send, dropped together once its message is delivered (or failed). */
export class Pins {
  private readonly paths: string[] = [];
  private readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  async add(sha256: string): Promise<void> {
    const path = join(this.dir, `${sha256}.${process.pid}.${randomHex(4)}`);
    await fs.writeFile(path, "", { mode: FILE_MODE, flag: "wx" });
    this.paths.push(path);
  }

  async release(): Promise<void> {
    for (const p of this.paths.splice(0)) await fs.removeFile(p).catch(() => undefined);
  }
}

export class FileBlobStore {
  readonly home: string;
  readonly root: string;
  private readonly sync: boolean;
  private checked = false;

  constructor(home: string, sync: boolean) {
    this.home = home;
    this.sync = sync;
    this.root = join(home, "blobs");
  }

  blobPath(sha256: string): string {
    return join(this.root, "sha256", sha256.slice(0, 2), sha256);
  }

  pins(): Pins {
    return new Pins(join(this.root, "pins"));
  }

  /** Creates (0700) and checks the store's folders; once per store object. */
  async ready(): Promise<void> {
    if (this.checked) return;
    await fs.mkdir(this.home, { recursive: true, mode: DIR_MODE }); // a NATS-only machine may have none yet
    await assertSafeDir(this.home, "bus home");
    for (const dir of [this.root, ...["sha256", "tmp", "pins", "trash"].map((d) => join(this.root, d))]) {
      await safeFolder(dir);
    }
    this.checked = true;
  }

  /** Streams `source` into the store (hashing as it goes) and returns its address; pinned in `pins`. */
  async put(source: BlobSource, pins: Pins): Promise<StoredBlob> {
    await this.ready();
    const staged = stagingPath(join(this.root, "tmp"), "blob");
    const hash = nodeCrypto().createHash("sha256");
    const cap = maxAttachmentBytes();
    let size = 0;
    const fd = await fs.open(staged, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    try {
      try {
        for await (const chunk of source) {
          const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
          hash.update(buf);
          size += buf.length;
          if (size > cap) {
            throw new AbqError("E_TOO_LARGE", `an attachment is larger than the cap of ${cap} bytes`, {
              hint: "raise ABQ_MAX_ATTACHMENT_BYTES to send it",
            });
          }
          for (let off = 0; off < buf.length;) off += (await writeFd(fd, buf, off, buf.length - off)).bytesWritten;
        }
        if (this.sync) await fs.fsync(fd);
      } finally {
        await fs.close(fd);
      }
      const sha256 = hash.digest("hex");
      await pins.add(sha256); // before the blob is reachable by name: see retention.ts
      await this.linkIntoPlace(staged, sha256, size);
      return { sha256, size };
    } catch (err) {
      throw isAbqErrorLike(err) ? err : ioError("cannot store the attachment", err);
    } finally {
      await fs.removeFile(staged).catch(() => undefined);
    }
  }

  private async linkIntoPlace(staged: string, sha256: string, size: number): Promise<void> {
    const dir = join(this.root, "sha256", sha256.slice(0, 2));
    const target = this.blobPath(sha256);
    // A sweep may move an unreferenced copy out of place between our steps (retention.ts): then link again.
    for (let attempt = 0; ; attempt++) {
      await safeFolder(dir);
      try {
        await fs.link(staged, target);
        if (this.sync) await syncDir(dir);
        return;
      } catch (err) {
        if (errnoCode(err) !== "EEXIST") throw err;
      }
      // Stored before (dedup). It must be a real file of the right size; a fresh mtime tells the sweep it is in use.
      const st = await fs.lstat(target).catch(() => undefined);
      if (st === undefined && attempt < 5) continue;
      if (st === undefined || !st.isFile() || st.size !== size) {
        throw new AbqError(
          "E_UNSAFE",
          `blob ${target} is ${st?.isFile() === true ? "the wrong size" : "not a regular file"}`,
          {
            hint: `remove it (rm ${target}) and send again`,
          },
        );
      }
      const now = new Date();
      const touched = await fs.utimes(target, now, now).then(() => true, ignoreGone);
      if (touched || attempt >= 5) return;
    }
  }

  /** The blob's path once its bytes were checked against its sha256 (E_IO when missing or corrupt). */
  async verifiedPath(ref: AttachmentRef, id?: string): Promise<string> {
    await this.ready();
    const path = this.blobPath(ref.sha256);
    // A sweep can move the blob to trash/ between the look and the open (then put it back): look again.
    for (let attempt = 0; ; attempt++) {
      if (!(await this.has(ref.sha256)) && !(await this.afterSweep(ref.sha256))) throw missingBlob(ref, id, this.root);
      const actual = await hashFile(path).catch((err: unknown) => {
        if (errnoCode(err) !== "ENOENT") throw err;
        if (attempt < 10) return undefined;
        throw missingBlob(ref, id, this.root);
      });
      if (actual === undefined) continue;
      if (actual !== ref.sha256) throw corruptBlob(ref, id, path);
      return path;
    }
  }

  /**
   * A sweep moves a blob it judged unreferenced to `trash/` for a moment, then puts it back if a message
   * or a send in progress turned out to use it (retention.ts). A reader that finds the blob gone while
   * it is in `trash/` waits for that sweep to finish (up to 10 s) and looks again. The blob is always in
   * place or in trash (restore links it back before dropping the trash name), but a look at each can
   * straddle a restore, so only several rounds absent from both in a row mean it is really gone.
   */
  private async afterSweep(sha256: string): Promise<boolean> {
    const trash = join(this.root, "trash");
    const deadline = Date.now() + 10_000;
    for (let absent = 0; Date.now() <= deadline;) {
      if (await this.has(sha256)) return true;
      const trashed = (await fs.readdir(trash).catch(() => [] as string[])).some((n) => n.startsWith(`${sha256}.`));
      absent = trashed ? 0 : absent + 1;
      if (absent >= 3) return false;
      await new Promise((r) => setTimeout(r, trashed ? 10 : 1));
    }
    return this.has(sha256);
  }

  /** Present and a regular file (not checked for corruption). */
  async has(sha256: string): Promise<boolean> {
    const st = await fs.lstat(this.blobPath(sha256)).catch(() => undefined);
    return st?.isFile() === true;
  }
}

/** `false` for ENOENT (a sweep moved the file meanwhile), the error again otherwise. */
export function ignoreGone(err: unknown): false {
  if (errnoCode(err) === "ENOENT") return false;
  throw err;
}

function isAbqErrorLike(err: unknown): boolean {
  return err instanceof AbqError;
}

/** Creates `dir` (0700) if missing, then refuses a link, a non-folder, or someone else's folder. */
async function safeFolder(dir: string): Promise<void> {
  await fs.mkdir(dir, { mode: DIR_MODE }).catch((err: unknown) => {
    if (errnoCode(err) !== "EEXIST") throw ioError(`cannot create ${dir}`, err);
  });
  await assertSafeDir(dir, "blob folder");
  const st = await fs.lstat(dir);
  if (!st.isDirectory())
    throw new AbqError("E_UNSAFE", `blob folder ${dir} is not a folder`, { hint: `remove ${dir}` });
}

/** SHA-256 of a file, streamed (O_NOFOLLOW: a blob is never a link). */
export async function hashFile(path: string): Promise<string> {
  const hash = nodeCrypto().createHash("sha256");
  const fd = await fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  for await (const chunk of createReadStream("", { fd, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function corruptBlob(ref: AttachmentRef, id: string | undefined, path: string): AbqError {
  return new AbqError(
    "E_IO",
    `attachment '${ref.name}'${id !== undefined ? ` of ${id}` : ""} is corrupt: its bytes do not match sha256 ${ref.sha256.slice(0, 12)}…`,
    { hint: `the message is kept; the damaged copy is ${path}: restore it, or ask the sender to send it again` },
  );
}

export function missingBlob(ref: AttachmentRef, id: string | undefined, where: string): AbqError {
  return new AbqError(
    "E_IO",
    `attachment '${ref.name}'${id !== undefined ? ` of ${id}` : ""} is missing from ${where}`,
    { hint: "it was removed (or never reached this machine); ask the sender to send it again" },
  );
}
