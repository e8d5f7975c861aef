/**
 * Applies a channel's grants to every folder and file in it. Folders get the entry and the same entry as
 * a default (so files made later inherit it), plus a default entry for the owner, so files a read-write
 * grantee writes stay readable by the owner. Folders are also made setgid: writers then create files
 * 0660 (src/spool/files.ts), whose group bits are the ACL mask, so inherited entries stay effective.
 *
 * Order matters for "at once": a revoke cuts the channel's own folder first (nothing below is reachable
 * after that), a grant opens it last (nothing is reachable before everything below is ready). Files are
 * listed after their folders' defaults changed, so one made meanwhile either inherited the change or is
 * in the list; a verification pass catches files that moved between folders while we worked.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { errnoCode } from "../protocol/errors.ts";
import { effective, entrySpec, hasExtendedEntries, readAcls, setAcl } from "./acl.ts";
import type { Grant } from "./record.ts";

export interface Tree {
  dirs: string[];
  files: string[];
  /** Paths another user owns (written by a read-write grantee): only their owner or root may change them. */
  foreign: string[];
}

export async function walkTree(root: string): Promise<Tree> {
  const uid = process.getuid?.() ?? 0;
  const tree: Tree = { dirs: [], files: [], foreign: [] };
  const visit = async (path: string, isRoot: boolean): Promise<void> => {
    const st = await fs.lstat(path).catch((err: unknown) => {
      if (errnoCode(err) === "ENOENT" && !isRoot) return undefined;
      throw err;
    });
    if (st === undefined || st.isSymbolicLink()) return; // links are never followed inside the bus
    if (uid !== 0 && st.uid !== uid) tree.foreign.push(path);
    else if (st.isDirectory()) tree.dirs.push(path);
    else if (st.isFile()) tree.files.push(path);
    if (!st.isDirectory()) return;
    const names = await fs.readdir(path).catch(() => [] as string[]);
    for (const name of names) await visit(join(path, name), false);
  };
  await visit(root, true);
  return tree;
}

function perms(g: Grant, onDir: boolean): string {
  if (onDir) return g.access === "read-write" ? "rwx" : "r-x";
  return g.access === "read-write" ? "rw-" : "r--";
}

function dirSpecs(grants: Grant[], ownerUid: number): string[] {
  const specs = [entrySpec("user", ownerUid, "rwx", true)];
  for (const g of grants)
    specs.push(entrySpec(g.kind, g.id, perms(g, true)), entrySpec(g.kind, g.id, perms(g, true), true));
  return specs;
}

function removeSpecs(removed: Grant[]): string[] {
  return removed.flatMap((g) => [entrySpec(g.kind, g.id, ""), entrySpec(g.kind, g.id, "", true)]);
}

/**
 * Makes the ACLs under `root` say exactly `grants` (and none of `removed`). With no grants left every
 * extended entry is removed and the folders lose setgid again (unless `keepSetgid`: a --group channel).
 */
export async function applyTree(
  root: string,
  grants: Grant[],
  removed: Grant[],
  opts: { ownerUid: number; keepSetgid: boolean },
): Promise<{ foreign: number }> {
  const last = grants.length === 0;
  const rm = removeSpecs(removed);
  const rmFiles = rm.filter((s) => !s.startsWith("d:"));
  const dirArgs = last
    ? ["-b"]
    : [...(rm.length > 0 ? ["-x", rm.join(",")] : []), "-m", dirSpecs(grants, opts.ownerUid).join(",")];
  const fileSpecs = grants.map((g) => entrySpec(g.kind, g.id, perms(g, false))).join(",");
  const fileArgs = last ? ["-b"] : [...(rmFiles.length > 0 ? ["-x", rmFiles.join(",")] : []), "-m", fileSpecs];

  if (last || removed.length > 0) await setAcl(dirArgs, [root]); // revoke: the top first
  let tree = await walkTree(root);
  const below = tree.dirs.filter((d) => d !== root);
  if (!last) await setgid(below, true);
  await setAcl(dirArgs, below);
  tree = await walkTree(root);
  await setAcl(fileArgs, tree.files);
  if (!last) {
    await setgid([root], true);
    await setAcl(dirArgs, [root]); // grant: the top last
  } else if (!opts.keepSetgid) await setgid(tree.dirs, false);
  for (let pass = 0; pass < 3; pass++) {
    tree = await walkTree(root);
    const wrong = await misapplied(tree, grants, removed);
    if (wrong.dirs.length === 0 && wrong.files.length === 0) break;
    await setAcl(dirArgs, wrong.dirs);
    await setAcl(fileArgs, wrong.files);
  }
  return { foreign: tree.foreign.length };
}

async function setgid(dirs: string[], on: boolean): Promise<void> {
  for (const dir of dirs) {
    const st = await fs.lstat(dir).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) continue;
    const mode = st.mode & 0o7777;
    const next = on ? mode | 0o2000 : mode & ~0o2000;
    if (next !== mode) await fs.chmod(dir, next);
  }
}

/** Paths whose ACL does not (yet) say what it should: a grant missing or hidden by the mask, a revoked entry left. */
export async function misapplied(
  tree: Tree,
  grants: Grant[],
  removed: Grant[],
): Promise<{ dirs: string[]; files: string[] }> {
  const wrong = { dirs: [] as string[], files: [] as string[] };
  const dirSet = new Set(tree.dirs);
  for (const acl of await readAcls([...tree.dirs, ...tree.files])) {
    const onDir = dirSet.has(acl.path);
    const bad =
      (grants.length === 0 && hasExtendedEntries(acl)) ||
      removed.some((g) => acl.entries.some((e) => e.tag === g.kind && e.id === g.id)) ||
      grants.some((g) => {
        const want = onDir ? perms(g, true) : "r--"; // files are never rewritten: reading is what counts
        const got = effective(acl, g.kind, g.id);
        return (
          [...want].some((c, i) => c !== "-" && got[i] !== c) || (onDir && effective(acl, g.kind, g.id, true) === "")
        );
      });
    if (bad) (onDir ? wrong.dirs : wrong.files).push(acl.path);
  }
  return wrong;
}
