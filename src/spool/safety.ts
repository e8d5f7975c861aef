/**
 * Refusing unsafe buses (as qmail refuses unsafe queues): a bus folder that is a symbolic link, writable
 * by everyone, or owned by another user could let someone else plant, read or redirect messages. abq
 * checks the home and each channel's folders the first time a process uses them, and stops with
 * E_UNSAFE (exit 9) and the command that fixes it.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";

export async function assertSafeDir(path: string, what: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return; // nothing there yet: the caller reports a missing channel
    throw err;
  }
  if (st.isSymbolicLink()) {
    throw new AbqError("E_UNSAFE", `${what} ${path} is a symbolic link; abq does not follow links inside the bus`, {
      hint: "replace the link with a real folder, or point ABQ_HOME at the real place",
    });
  }
  const uid = process.getuid?.();
  // Someone else's folder is fine only when it is shared with a group we are in (channel --group).
  const sharedWithUs = (st.mode & 0o050) === 0o050 && (process.getgroups?.() ?? []).includes(st.gid);
  if (uid !== undefined && st.uid !== uid && !sharedWithUs) {
    throw new AbqError("E_UNSAFE", `${what} ${path} is owned by uid ${st.uid}, not by you (uid ${uid})`, {
      hint: "use your own ABQ_HOME",
    });
  }
  if ((st.mode & 0o002) !== 0) {
    throw new AbqError("E_UNSAFE", `${what} ${path} is writable by everyone (mode ${(st.mode & 0o7777).toString(8)})`, {
      hint: `chmod o-w ${path}`,
    });
  }
}

/** Checks a channel (or topic subscriber) folder and the folders messages move through. */
export async function assertSafeQueue(dir: string): Promise<void> {
  await assertSafeDir(dir, "channel folder");
  for (const sub of ["requests", "processing", "responses", "archive"]) await assertSafeDir(join(dir, sub), "folder");
}
