/**
 * Reading the git state abq needs (top-level folder, branch or detached commit, remote URL) straight from
 * `.git`, with no subprocess: a `send` pays a few small file reads instead of the seed's four git
 * processes. Layouts the fast path does not understand (GIT_DIR in the environment, reftable refs, odd
 * `.git` files) are answered by the git CLI through simple-git instead.
 */
import * as fs from "../fs-promised.ts";
import { dirname, join, resolve } from "node:path";

export interface GitState {
  toplevel: string;
  branch?: string | undefined;
  /** Abbreviated commit when HEAD is detached. */
  detached?: string | undefined;
  remoteUrl?: string | undefined;
  linkedWorktree: boolean;
  /** The repository's main branch: origin's HEAD, else `main` or `master` if it exists, else `main`. */
  defaultBranch: string;
}

/** `null` = not inside a git work tree. */
export async function readGitState(cwd: string): Promise<GitState | null> {
  if (process.env["GIT_DIR"] !== undefined) return readWithGitCli(cwd);
  const found = await findDotGit(resolve(cwd));
  if (!found) return null;
  const fast = await readFast(found.toplevel, found.dotGit).catch(() => undefined);
  return fast ?? readWithGitCli(cwd);
}

async function findDotGit(start: string): Promise<{ toplevel: string; dotGit: string } | null> {
  for (let dir = start; ; dir = dirname(dir)) {
    const dotGit = join(dir, ".git");
    const st = await fs.stat(dotGit).catch(() => undefined);
    if (st) return { toplevel: dir, dotGit };
    if (dirname(dir) === dir) return null;
  }
}

/** undefined = layout not understood here; ask git. */
async function readFast(toplevel: string, dotGit: string): Promise<GitState | undefined> {
  let gitDir = dotGit;
  const st = await fs.stat(dotGit);
  if (st.isFile()) {
    const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(await fs.readFile(dotGit, "utf8"));
    if (!pointer?.[1]) return undefined;
    gitDir = resolve(toplevel, pointer[1]);
  }
  const commonPointer = await fs.readFile(join(gitDir, "commondir"), "utf8").catch(() => undefined);
  const commonDir = commonPointer !== undefined ? resolve(gitDir, commonPointer.trim()) : gitDir;
  const head = (await fs.readFile(join(gitDir, "HEAD"), "utf8")).trim();
  const config = await fs.readFile(join(commonDir, "config"), "utf8").catch(() => "");
  const ref = /^ref:\s*refs\/heads\/(.+)$/.exec(head);
  if (ref?.[1] === ".invalid" || /^\s*refstorage\s*=/im.test(config)) return undefined; // reftable
  let branch: string | undefined;
  let detached: string | undefined;
  if (ref) branch = ref[1];
  else if (/^[0-9a-f]{40,64}$/.test(head)) detached = head.slice(0, 7);
  else return undefined;
  return {
    toplevel,
    branch,
    detached,
    remoteUrl: pickRemote(parseRemotes(config)),
    linkedWorktree: commonDir !== gitDir,
    defaultBranch: await readDefaultBranch(commonDir),
  };
}

async function readDefaultBranch(commonDir: string): Promise<string> {
  const originHead = await fs.readFile(join(commonDir, "refs", "remotes", "origin", "HEAD"), "utf8").catch(() => "");
  const fromOrigin = /^ref:\s*refs\/remotes\/origin\/(.+)$/.exec(originHead.trim())?.[1];
  if (fromOrigin !== undefined) return fromOrigin;
  const packed = await fs.readFile(join(commonDir, "packed-refs"), "utf8").catch(() => "");
  for (const name of ["main", "master"]) {
    const loose = await fs.stat(join(commonDir, "refs", "heads", name)).catch(() => undefined);
    if (loose || packed.includes(` refs/heads/${name}\n`)) return name;
  }
  return "main";
}

/** `[remote "name"] url = …` entries of a git config file, in file order. */
export function parseRemotes(config: string): Map<string, string> {
  const remotes = new Map<string, string>();
  let section: string | undefined;
  for (const rawLine of config.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*remote\s+"((?:[^"\\]|\\.)*)"\s*\]/i.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    if (line.startsWith("[")) {
      section = undefined;
      continue;
    }
    const kv = /^url\s*=\s*(.*)$/i.exec(line);
    if (section !== undefined && kv?.[1] !== undefined && !remotes.has(section)) {
      remotes.set(section, unquote(kv[1]));
    }
  }
  return remotes;
}

function unquote(value: string): string {
  const v = value.replace(/\s+[#;].*$/, "").trim();
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** `origin` when there is one (as the seed does), else `upstream`, else the first remote. */
function pickRemote(remotes: Map<string, string>): string | undefined {
  return remotes.get("origin") ?? remotes.get("upstream") ?? remotes.values().next().value;
}

async function readWithGitCli(cwd: string): Promise<GitState | null> {
  const { simpleGit } = await import("simple-git");
  const git = simpleGit({ baseDir: cwd });
  const toplevel = await git.revparse(["--show-toplevel"]).catch(() => undefined);
  if (toplevel === undefined) return null;
  const branch = await git.raw(["symbolic-ref", "-q", "--short", "HEAD"]).catch(() => "");
  const detached = branch.trim() === "" ? await git.revparse(["--short=7", "HEAD"]).catch(() => "unborn") : undefined;
  const remotes = await git.getRemotes(true).catch(() => []);
  const byName = new Map(remotes.map((r) => [r.name, r.refs.fetch]));
  const gitDir = await git.revparse(["--git-dir"]).catch(() => "");
  const commonDir = await git.revparse(["--git-common-dir"]).catch(() => "");
  const originHead = await git.raw(["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"]).catch(() => "");
  return {
    toplevel: toplevel.trim(),
    branch: branch.trim() !== "" ? branch.trim() : undefined,
    detached: detached?.trim(),
    remoteUrl: pickRemote(byName),
    linkedWorktree: resolve(cwd, gitDir.trim()) !== resolve(cwd, commonDir.trim()),
    defaultBranch: originHead.trim().replace(/^origin\//, "") || "main",
  };
}
