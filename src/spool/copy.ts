/**
 * A private copy of a published file, placed without ever replacing one already there: topic fan-out
 * gives each subscriber its own inode, so whatever one subscriber's handler does to its file (root ignores
 * the read-only mode) cannot reach another subscriber's copy or the shared one.
 */
import { constants, copyFile as copyFileCb } from "node:fs";
import { basename } from "node:path";
import { promisify } from "node:util";
import * as fs from "../fs-promised.ts";
import { errnoCode } from "../protocol/errors.ts";
import { stagingPath } from "./files.ts";

const copyFile = promisify(copyFileCb);

/**
 * Copies `src` into a new staging file in `tmpDir` (a reflink where the filesystem has them, a real copy
 * otherwise; it takes `src`'s mode, set to `mode` when that differs from `srcMode`), fsyncs it when
 * `sync`, then link(2)s it to `target`, which fails rather than overwrite: a repeated call never makes a
 * second copy. Returns false when `target` already existed. The staging name is always removed; a crash
 * leaves at most that, which `sweep` reaps with the other staging leftovers. The caller fsyncs `target`'s
 * folder.
 */
export async function copyNoReplace(
  src: string,
  tmpDir: string,
  target: string,
  opts: { mode: number; srcMode: number; sync: boolean },
): Promise<boolean> {
  const staged = stagingPath(tmpDir, basename(target));
  try {
    await copyFile(src, staged, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    if (opts.mode !== opts.srcMode) await fs.chmod(staged, opts.mode);
    if (opts.sync) {
      const fd = await fs.open(staged, constants.O_RDONLY);
      try {
        await fs.fsync(fd);
      } finally {
        await fs.close(fd);
      }
    }
    return await fs.link(staged, target).then(
      () => true,
      (err: unknown) => {
        if (errnoCode(err) === "EEXIST") return false; // already there: this call adds nothing
        throw err;
      },
    );
  } finally {
    await fs.removeFile(staged).catch(() => undefined);
  }
}
