/**
 * What writers of the file store (file-store.ts) leave behind when they die, and its repair: staging
 * files, staged folders of new keys, and commit slots (`.commit-E-<pid>-<rand>`: head.E, renamed by a put
 * against revision E). A dead writer's slot goes back to being head.E (the put never happened) unless the
 * writer got as far as publishing head.E+1; anything else a dead writer left is removed.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { listDir, tryRename } from "../spool/files.ts";

export const HEAD = /^head\.(\d{1,15})$/;
const LITTER = /^\.(commit|stage|new)-(?:(\d{1,15})-)?(\d+)-[0-9a-f]+$/;
/** A commit slot or staging file this old belongs to nobody, whatever its pid says (pids are reused). */
const STALE_MS = 10 * 60_000;

/**
 * Removes what dead writers left in `dir` (their pid is gone, or the file is older than STALE_MS). With
 * `restore`, a dead writer's commit slot goes back to being the head, unless the writer got as far as
 * publishing the next head. Returns how many it handled.
 */
export async function removeLitter(dir: string, names: string[], restore: boolean): Promise<number> {
  let handled = 0;
  for (const name of names) {
    const m = LITTER.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const st = await fs.lstat(path).catch(() => undefined);
    // Aged by ctime: a commit slot is the old head renamed, and keeps its mtime (a key idle for ten
    // minutes would make every writer's slot look abandoned the moment it is taken); rename sets ctime.
    if (!st || (pidAlive(Number(m[3])) && Date.now() - st.ctimeMs < STALE_MS)) continue;
    // `names` may predate the writer's last rename (head.E+1); listed again now that it is dead, the folder
    // tells. Put back beside a later head, head.E would let a second put win E+1 (two holders of a lock).
    if (m[1] === "commit" && m[2] !== undefined && restore && !superseded(await listDir(dir), Number(m[2]))) {
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
