/**
 * One share or unshare at a time per bus: each reads, changes and writes `shares.json`, and two at once
 * would lose one's change. The lock is a file made with O_EXCL holding the holder's pid; a lock whose
 * holder died (SIGKILL) is taken over, so a crash never wedges sharing.
 */
import { constants } from "node:fs";
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { AbqError, errnoCode } from "../protocol/errors.ts";
import { ensureDir } from "../spool/files.ts";

const WAIT_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
}

export async function withShareLock<T>(home: string, work: () => Promise<T>): Promise<T> {
  await ensureDir(join(home, "tmp"));
  const path = join(home, "tmp", "shares.lock");
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const fd = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      await fs.writeFile(fd, String(process.pid), "utf8");
      await fs.close(fd);
      break;
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
      const holder = Number(await fs.readFile(path, "utf8").catch(() => ""));
      // An empty file is a holder between open and write (wait for it), or one killed right there.
      const age = Date.now() - ((await fs.stat(path).catch(() => undefined))?.mtimeMs ?? Date.now());
      const valid = Number.isInteger(holder) && holder > 0;
      if ((valid && !alive(holder)) || (!valid && age > 2000)) {
        await fs.removeFile(path).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new AbqError("E_CONFLICT", `another abq share or unshare (pid ${holder}) is running on this bus`, {
          hint: `wait for it, or remove ${path} if no such process exists`,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await work();
  } finally {
    await fs.removeFile(path).catch(() => undefined);
  }
}
