/**
 * Refusing unsafe buses (as qmail refuses unsafe queues): a bus folder that is a symbolic link, writable
 * by everyone, or owned by another user could let someone else plant, read or redirect messages. abq
 * checks the home and each channel's folders the first time a process uses them, and stops with
 * E_UNSAFE (exit 9) and the command that fixes it.
 */
import * as fs from "../fs-promised.ts";
import { constants, realpath, statfs } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { promisify } from "node:util";
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
  // Someone else's folder is fine only when it is shared with us: with a group we are in (channel
  // --group), or by an ACL (abq share).
  const sharedWithUs = (st.mode & 0o050) === 0o050 && (process.getgroups?.() ?? []).includes(st.gid);
  if (uid !== undefined && st.uid !== uid && !sharedWithUs && !(await sharedByAcl(path, st.mode, uid))) {
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

/**
 * Someone else's folder shared with us by an ACL (`abq share`): closed to everyone else (no "other" bits),
 * yet the kernel lets us in. Root is let in everywhere, so for root this proves nothing.
 */
async function sharedByAcl(path: string, mode: number, uid: number): Promise<boolean> {
  if (uid === 0 || (mode & 0o007) !== 0) return false;
  return fs.access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Every folder inside a queue that abq writes into (leases and staging files included). */
const QUEUE_FOLDERS = [
  ...["requests", "processing", "responses", "archive", "tmp", "leases", "delayed", "dead", "expired"],
  ...["late", "rejected", "fanout", "subscribers"],
];

/**
 * Checks a channel (or topic subscriber) folder, every folder between it and the home (`channels/`, a
 * topic's `subscribers/`), and every folder messages, leases and staging files are written into. The
 * lstat calls run side by side: this runs once per queue per process, on the way to the first message.
 */
export async function assertSafeQueue(dir: string, home: string): Promise<void> {
  const between: string[] = [];
  for (let d = dirname(dir); relative(home, d) !== "" && !relative(home, d).startsWith(".."); d = dirname(d)) {
    between.push(d);
  }
  await Promise.all([
    ...between.map((d) => assertSafeDir(d, "folder")),
    assertSafeDir(dir, "channel folder"),
    ...QUEUE_FOLDERS.map((sub) => assertSafeDir(join(dir, sub), "folder")),
  ]);
}

/**
 * The home and `channels/`, which every command goes through. The home's own `tmp/` and `agents/` are
 * checked where they are written (registry.ts, heartbeat.ts): a teammate on a `--group` channel never
 * writes there, and those stay private to the owner.
 */
export async function assertSafeHome(home: string): Promise<void> {
  await Promise.all([assertSafeDir(home, "bus home"), assertSafeDir(join(home, "channels"), "folder")]);
}

/**
 * Kernel pseudo-filesystems (/proc, /sys, /dev) hold no files of ours: mkdir there fails in ways Node's
 * recursive mkdir loops on forever (100 % CPU, `ABQ_HOME=/proc/x abq init`). Checked by the real path of
 * the nearest existing folder, and by the filesystem type for such a filesystem mounted elsewhere.
 * /dev/shm is a real tmpfs and stays allowed.
 */
export async function assertUsableHome(home: string): Promise<void> {
  let existing = home;
  while (
    !(await fs.lstat(existing).then(
      () => true,
      () => false,
    ))
  ) {
    if (dirname(existing) === existing) return;
    existing = dirname(existing);
  }
  const real = await promisify(realpath)(existing).catch(() => existing);
  const under = (root: string): boolean => real === root || real.startsWith(`${root}${sep}`);
  const pseudo = ["/proc", "/sys", "/dev"].find((root) => under(root) && !under("/dev/shm"));
  const type = await promisify(statfs)(real).then(
    (st) => st.type,
    () => 0,
  );
  if (pseudo === undefined && !PSEUDO_FS_TYPES.has(type)) return;
  throw new AbqError(
    "E_UNSAFE",
    `bus home ${home} is on ${pseudo ?? "a kernel pseudo-filesystem"}, which cannot hold files`,
    {
      hint: "point ABQ_HOME at a real folder, such as ~/.abq",
    },
  );
}

/** statfs f_type of proc, sysfs, cgroup, cgroup2, debugfs, tracefs, securityfs, bpf (linux/magic.h). */
const PSEUDO_FS_TYPES = new Set([
  0x9fa0, 0x62656572, 0x27e0eb, 0x63677270, 0x64626720, 0x74726163, 0x73636673, 0xcafe4a11,
]);
