/**
 * Who is sending: `from.agent`, derived without registration.
 *
 * | situation                      | agent                                  |
 * |--------------------------------|----------------------------------------|
 * | `ABQ_AGENT` set                | its value                              |
 * | git repo with a remote         | `<host>/<org>/<repo>/<branch>`         |
 * | detached HEAD                  | `<host>/<org>/<repo>/detached-<sha7>`  |
 * | git repo without a remote      | `local/<repo folder>/<branch>`         |
 * | not in a git repo              | `local/<cwd folder>/<hostname>`        |
 *
 * A linked worktree is identified by its own branch (git allows a branch in one worktree only), so two
 * agents in two worktrees of one repository are two identities.
 */
import { hostname } from "node:os";
import { basename, resolve } from "node:path";
import { sha256Hex } from "../protocol/random.ts";
import { readGitState } from "./git.ts";
import { parseRemote } from "./remote.ts";

export interface Identity {
  agent: string;
  source: "env" | "git" | "local";
  /** `host/org/repo` when a remote was found. */
  repo?: string | undefined;
  branch?: string | undefined;
  /** Top folder of the git work tree, when in one. */
  toplevel?: string | undefined;
  /** The agent of the same repository's main branch (what `@parent` addresses). */
  parent?: string | undefined;
}

export interface IdentityOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

const cache = new Map<string, Promise<Identity>>();

/** The caller's identity; computed once per working directory per process. */
export function resolveIdentity(opts: IdentityOptions = {}): Promise<Identity> {
  const env = opts.env ?? process.env;
  const override = env["ABQ_AGENT"]?.trim();
  if (override) {
    const parent = env["ABQ_PARENT"]?.trim();
    return Promise.resolve({ agent: clean(override), source: "env", parent: parent ? clean(parent) : undefined });
  }
  const cwd = resolve(opts.cwd ?? process.cwd());
  let found = cache.get(cwd);
  if (!found) {
    found = computeIdentity(cwd);
    cache.set(cwd, found);
  }
  return found;
}

async function computeIdentity(cwd: string): Promise<Identity> {
  const git = await readGitState(cwd).catch(() => null);
  if (!git) return { agent: clean(`local/${basename(cwd) || "root"}/${shortHost()}`), source: "local" };
  const branch = git.branch ?? `detached-${git.detached ?? "unknown"}`;
  const remote = git.remoteUrl !== undefined ? parseRemote(git.remoteUrl) : null;
  const repo = remote ? `${remote.host}/${remote.path}` : undefined;
  const base = repo ?? `local/${basename(git.toplevel) || "root"}`;
  const parent = clean(`${base}/${git.defaultBranch}`);
  return { agent: clean(`${base}/${branch}`), source: "git", repo, branch, toplevel: git.toplevel, parent };
}

function shortHost(): string {
  return hostname().split(".")[0] || "localhost";
}

/** Agent strings end up in file contents and terminal output: no control characters. */
function clean(agent: string): string {
  return agent.replace(/\p{Cc}/gu, "").slice(0, 512);
}

export const INBOX_PREFIX = "inbox.";

/**
 * An agent's inbox channel (the seed's rule; `@self` and agent addresses resolve to it):
 *
 *   `inbox.` + the agent, lowercased, `/` → `.`, any other character outside [a-z0-9._-] → `-`
 *   e.g. github.com/acme/app/feature/login → inbox.github.com.acme.app.feature.login
 *
 * Names longer than 64 characters keep their first 55 and end in `-` + 8 hex digits of the agent's
 * SHA-256, so they stay unique and valid.
 */
export function inboxName(agent: string): string {
  const slug = agent
    .toLowerCase()
    .replace(/\//g, ".")
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[._-]+|[._-]+$/g, "");
  const name = `${INBOX_PREFIX}${slug || "anonymous"}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 55).replace(/[._-]+$/, "")}-${sha256Hex(agent).slice(0, 8)}`;
}

export { parseRemote } from "./remote.ts";
