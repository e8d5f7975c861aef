/**
 * The dot-name a claimed message is taken under for a release, retry or term (lifecycle step 6 in
 * src/protocol/index.ts): `processing/.retry-<id>.<pid>.<host tag><rand>`. Of several racing takers
 * exactly one wins the rename; the name says who, so the sweep can tell a taker that died half way (its
 * message goes back to `requests/` at once) from one that may still be moving it.
 */
import { join } from "node:path";
import * as fs from "../fs-promised.ts";
import { randomHex } from "../protocol/random.ts";
import { logEvent } from "./events.ts";
import { listDir } from "./files.ts";
import { HOST, ownerAlive } from "./lease.ts";
import { type Queue, RETRY_PREFIX } from "./paths.ts";
import { makePending } from "./transitions.ts";

/**
 * Eight hex digits of this host's name (FNV-1a): a pid is only meaningful on its own host, and a bus on a
 * shared filesystem may be swept from another one. Names without it (older abq) go by age alone.
 */
const HOST_TAG = (() => {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(HOST)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
})();

/** The path this process takes message `id` of `q` under. */
export function takenPath(q: Queue, id: string): string {
  return join(q.dir, "processing", `${RETRY_PREFIX}${id}.${process.pid}.${HOST_TAG}${randomHex(3)}`);
}

/** Whether the process that took this dot-name is known to be gone (this host, pid not running). */
function takerGone(name: string): boolean {
  const [, pid = "", tag = ""] = name.slice(RETRY_PREFIX.length).split(".");
  return (
    tag.length === 14 && tag.startsWith(HOST_TAG) && ownerAlive({ agent: "", pid: Number(pid), host: HOST }) === false
  );
}

/**
 * Puts back into `requests/` the messages a crash left under their dot-name: at once when the taker is
 * gone, else (another host, a reused pid) once taken over `minAgeMs` ago. The age is the ctime, which the
 * take's rename sets; the mtime is the message's own, hours old for one that waited, and going by it put
 * a live releaser's message back while it was still moving it (pending twice, or pending and dead).
 */
export async function restoreRetries(q: Queue, minAgeMs: number, actor: string): Promise<number> {
  let restored = 0;
  for (const name of await listDir(join(q.dir, "processing"))) {
    if (!name.startsWith(RETRY_PREFIX)) continue;
    const path = join(q.dir, "processing", name);
    const st = await fs.stat(path).catch(() => undefined);
    if (!st || (!takerGone(name) && Date.now() - st.ctimeMs < minAgeMs)) continue;
    const id = name.slice(RETRY_PREFIX.length).split(".")[0]!;
    if (!(await makePending(q, path, id, false))) continue;
    logEvent(q, "requeued", id, actor, { detail: "put back: the process releasing it is gone" });
    restored++;
  }
  return restored;
}
