/**
 * Paths to check against reservations, as the repository names them (relative to its top folder): the
 * files staged for the next commit, or paths given relative to the current folder.
 */
import { isAbsolute, join, normalize, relative } from "node:path";
import { promisify } from "node:util";
import { AbqError } from "../protocol/errors.ts";
import { nodeChildProcess } from "../protocol/random.ts";

const run = (file: string, args: string[], opts: { cwd: string; maxBuffer: number }) =>
  promisify(nodeChildProcess().execFile)(file, args, opts);

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run("git", args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
}

/** Files in the index that differ from HEAD (added, changed, deleted; a rename as its two paths). */
export async function stagedPaths(cwd: string): Promise<string[]> {
  const out = await git(cwd, ["diff", "--cached", "--name-only", "--no-renames", "-z"]);
  if (out === undefined) {
    throw new AbqError("E_USAGE", `${cwd} is not in a git repository (or git is not installed): nothing is staged`);
  }
  return out.split("\0").filter((p) => p !== "");
}

/** `paths` (relative to `cwd`, or absolute) relative to the repository's top, or to `cwd` outside one. */
export async function repoPaths(cwd: string, paths: string[]): Promise<string[]> {
  const top = (await git(cwd, ["rev-parse", "--show-toplevel"]))?.trim();
  return paths.map((p) => {
    if (p.includes("\0")) throw new AbqError("E_USAGE", "a path contains a NUL byte");
    const abs = isAbsolute(p) ? normalize(p) : join(cwd, p);
    const rel = relative(top !== undefined && top !== "" ? top : cwd, abs)
      .split("\\")
      .join("/");
    // Reservations name paths inside the repository: one outside it can never conflict, so saying "OK"
    // for it would hide a typo or a wrong working directory.
    if (rel === ".." || rel.startsWith("../") || isAbsolute(rel)) {
      throw new AbqError("E_USAGE", `${JSON.stringify(p.slice(0, 200))} is outside the repository`, {
        hint: "give paths inside the repository the reservations are for",
      });
    }
    return rel;
  });
}
