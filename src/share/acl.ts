/**
 * POSIX ACLs through the `acl` tools (getfacl/setfacl): Node has no getxattr, and the tools are on every
 * Linux that supports ACLs (Debian's `acl` package). Everything here passes numeric ids, never names, so
 * a name service hiccup cannot grant the wrong principal.
 */
import { nodeChildProcess } from "../protocol/random.ts";
import { AbqError, errnoCode } from "../protocol/errors.ts";

export type Tag = "user" | "group" | "mask" | "other";

export interface AclEntry {
  tag: Tag;
  /** uid or gid of a named entry; undefined for the owner, owning group, mask and other. */
  id: number | undefined;
  /** "r-x" and so on. */
  perms: string;
  isDefault: boolean;
}

export interface PathAcl {
  path: string;
  owner: number;
  group: number;
  entries: AclEntry[];
}

/** How many paths one setfacl/getfacl call takes (keeps the argument list far below ARG_MAX). */
const BATCH = 400;

function run(tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    nodeChildProcess().execFile(
      tool,
      args,
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && errnoCode(err) === "ENOENT" && typeof (err as { code?: unknown }).code === "string") {
          reject(
            new AbqError("E_IO", `${tool} is not installed`, {
              hint: "install the acl tools (Debian/Ubuntu: apt-get install acl; Fedora: dnf install acl)",
            }),
          );
          return;
        }
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? Number(err.code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The ACLs of `paths` (missing paths are left out: files move between folders all the time). */
export async function readAcls(paths: string[]): Promise<PathAcl[]> {
  const out: PathAcl[] = [];
  for (let i = 0; i < paths.length; i += BATCH) {
    const r = await run("getfacl", [
      "--absolute-names",
      "--numeric",
      "--no-effective",
      "--",
      ...paths.slice(i, i + BATCH),
    ]);
    const failures = otherFailures(r.stderr);
    if (failures.length > 0) throw new AbqError("E_IO", `getfacl failed: ${failures[0]}`);
    out.push(...parseGetfacl(r.stdout));
  }
  return out;
}

export function parseGetfacl(text: string): PathAcl[] {
  const out: PathAcl[] = [];
  let cur: PathAcl | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      cur = { path: line.slice(8), owner: -1, group: -1, entries: [] };
      out.push(cur);
    } else if (cur === undefined || line === "") continue;
    else if (line.startsWith("# owner: ")) cur.owner = Number(line.slice(9));
    else if (line.startsWith("# group: ")) cur.group = Number(line.slice(9));
    else if (!line.startsWith("#")) {
      const isDefault = line.startsWith("default:");
      const [tag, qual, perms] = (isDefault ? line.slice(8) : line).split(":");
      if (tag === undefined || perms === undefined) continue;
      cur.entries.push({ tag: tag as Tag, id: qual === "" ? undefined : Number(qual), perms, isDefault });
    }
  }
  return out;
}

/**
 * Runs `setfacl <args> -- paths…` in batches. A path that vanished meanwhile (a message moved on) is
 * returned, not an error: the caller's verification pass finds the file at its new place.
 */
export async function setAcl(args: string[], paths: string[]): Promise<{ vanished: string[] }> {
  const vanished: string[] = [];
  for (let i = 0; i < paths.length; i += BATCH) {
    // -P: a path that became a symbolic link since it was listed is skipped, never followed.
    const r = await run("setfacl", ["-P", ...args, "--", ...paths.slice(i, i + BATCH)]);
    if (r.code === 0) continue;
    for (const line of r.stderr.split("\n")) {
      const m = /^setfacl: (.*): No such file or directory$/.exec(line);
      if (m?.[1] !== undefined) vanished.push(m[1]);
    }
    const failures = otherFailures(r.stderr);
    if (failures.length > 0) {
      const denied = failures.some((f) => f.includes("Operation not permitted"));
      throw new AbqError(denied ? "E_UNSAFE" : "E_IO", `setfacl failed: ${failures[0]}`, {
        hint: denied ? "only a file's owner (or root) can change its ACL" : "check that the filesystem supports ACLs",
      });
    }
  }
  return { vanished };
}

function otherFailures(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((l) => l !== "" && !l.endsWith("No such file or directory") && !l.includes("Removing leading"));
}

/** A named entry's spec for setfacl: `u:1001:r-x`, `d:g:50:rwx`. */
export function entrySpec(tag: "user" | "group", id: number, perms: string, isDefault = false): string {
  return `${isDefault ? "d:" : ""}${tag === "user" ? "u" : "g"}:${id}${perms === "" ? "" : `:${perms}`}`;
}

/** Named (user/group with an id) or default entries: what makes an ACL more than its mode bits. */
export function hasExtendedEntries(acl: PathAcl): boolean {
  return acl.entries.some((e) => e.isDefault || e.id !== undefined);
}

/** The permission a named entry grants once the mask is applied ("" when there is no such entry). */
export function effective(acl: PathAcl, tag: "user" | "group", id: number, isDefault = false): string {
  const entry = acl.entries.find((e) => e.tag === tag && e.id === id && e.isDefault === isDefault);
  if (entry === undefined) return "";
  const mask = acl.entries.find((e) => e.tag === "mask" && e.isDefault === isDefault)?.perms ?? "rwx";
  return [...entry.perms].map((c, i) => (c !== "-" && mask[i] === c ? c : "-")).join("");
}
