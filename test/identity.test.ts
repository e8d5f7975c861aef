/**
 * Sender identity (`from.agent`) derived from git, on real repositories made in temp folders: the library
 * (`resolveIdentity`, `parseRemote`) and, end to end, the built CLI's `send --json`.
 *
 * `resolveIdentity` caches per working directory for the life of the process, so every case uses a fresh
 * folder. It is always given an explicit `env` without ABQ_AGENT so the test process cannot interfere.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRemote, resolveIdentity } from "../src/identity/index.ts";
import { type RunOptions, git, makeBus, makeRepo, parseJson, tempDir } from "./helpers.ts";

const SHORT_HOST = hostname().split(".")[0] || "localhost";
const WIDGET = "https://github.com/acme/widget.git";

/** A folder with a predictable basename (`name`) inside a fresh temp dir. */
function folder(name: string): string {
  const dir = join(tempDir(), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A real repository in a fresh folder called `name`. */
function repo(name: string, opts: Parameters<typeof makeRepo>[1] = {}): string {
  return makeRepo(folder(name), opts);
}

async function agentOf(cwd: string): Promise<string> {
  return (await resolveIdentity({ cwd, env: {} })).agent;
}

interface Sent {
  agent: string;
  stdout: string;
  stderr: string;
  /** Every file of the bus, concatenated: to prove nothing secret was stored anywhere. */
  stored: string;
}

/** `abq send x signal hi --json` run from `cwd` on a fresh bus, with ABQ_AGENT emptied (= ignored). */
async function sendFrom(cwd: string, env: RunOptions["env"] = {}): Promise<Sent> {
  const bus = makeBus();
  const created = await bus.abq(["channel", "create", "x"]);
  expect(created.code, created.stderr).toBe(0);
  const sent = await bus.abq(["send", "x", "signal", "hi", "--json"], { cwd, env: { ABQ_AGENT: "", ...env } });
  expect(sent.code, sent.stderr).toBe(0);
  const message = parseJson<{ from: { agent: string } }>(sent.stdout);
  return { agent: message.from.agent, stdout: sent.stdout, stderr: sent.stderr, stored: readTree(bus.home) };
}

function readTree(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), "utf8"))
    .join("\n");
}

describe("parseRemote", () => {
  // [url, expected]: every remote syntax git accepts, credentials dropped, `.git` stripped exactly once.
  it.each([
    ["https://github.com/acme/widget.git", { host: "github.com", path: "acme/widget" }],
    ["https://github.com/acme/widget", { host: "github.com", path: "acme/widget" }],
    ["https://github.com/acme/widget/", { host: "github.com", path: "acme/widget" }],
    ["https://github.com/acme/widget.git?ref=x#top", { host: "github.com", path: "acme/widget" }],
    ["HTTPS://GitHub.COM/acme/widget.git", { host: "github.com", path: "acme/widget" }],
    ["https://x-access-token:SECRET123@github.com/acme/api.git", { host: "github.com", path: "acme/api" }],
    ["https://user:p@ss@github.com/acme/api.git", { host: "github.com", path: "acme/api" }],
    ["https://user:p%40ss@github.com:443/acme/api.git", { host: "github.com", path: "acme/api" }],
    ["git@github.com:acme/api.git", { host: "github.com", path: "acme/api" }],
    ["github.com:acme/api.git", { host: "github.com", path: "acme/api" }],
    ["git@gitlab.com:group/sub/proj.git", { host: "gitlab.com", path: "group/sub/proj" }],
    ["ssh://git@git.example.com:2222/team/digit.git", { host: "git.example.com", path: "team/digit" }],
    ["ssh://user:pw@git.example.com/team/digit.git", { host: "git.example.com", path: "team/digit" }],
    ["ssh://[::1]:22/org/repo.git", { host: "[::1]", path: "org/repo" }],
    ["git://host/org/repo.git", { host: "host", path: "org/repo" }],
    ["https://gitlab.example.org/team/tool", { host: "gitlab.example.org", path: "team/tool" }],
    ["file:///srv/git/widget.git", { host: "local", path: "widget" }],
    ["/srv/git/widget.git", { host: "local", path: "widget" }],
    ["/srv/git/widget/", { host: "local", path: "widget" }],
    ["../widget.git", { host: "local", path: "widget" }],
  ])("%s", (url, expected) => {
    expect(parseRemote(url)).toEqual(expected);
  });

  // Nothing usable to name a repository by.
  it.each(["", "   ", "https://", "https://github.com", "https://github.com/", "file:///"])("%j → null", (url) => {
    expect(parseRemote(url)).toBeNull();
  });
});

describe("resolveIdentity on real repositories", () => {
  // [why, remote url, expected `host/org/repo`]; the branch is `main`.
  it.each([
    ["https GitHub (widget.git → widget, not widge)", WIDGET, "github.com/acme/widget"],
    [
      "https with a token (credentials dropped)",
      "https://x-access-token:SECRET123@github.com/acme/api.git",
      "github.com/acme/api",
    ],
    ["https user:pass with an @ in the password", "https://user:p@ss@github.com/acme/api.git", "github.com/acme/api"],
    ["ssh scp-like (api stays api)", "git@github.com:acme/api.git", "github.com/acme/api"],
    ["GitLab nested group", "git@gitlab.com:group/sub/proj.git", "gitlab.com/group/sub/proj"],
    [
      "ssh:// with a port (digit.git → digit)",
      "ssh://git@git.example.com:2222/team/digit.git",
      "git.example.com/team/digit",
    ],
    ["https without .git", "https://gitlab.example.org/team/tool", "gitlab.example.org/team/tool"],
  ])("%s", async (_why, url, expected) => {
    const dir = repo("checkout", { remote: url });
    const id = await resolveIdentity({ cwd: dir, env: {} });
    expect(id).toMatchObject({
      agent: `${expected}/main`,
      source: "git",
      repo: expected,
      branch: "main",
      toplevel: dir,
    });
  });

  it("keeps a slash in the branch name", async () => {
    expect(await agentOf(repo("widget", { branch: "feature/login", remote: WIDGET }))).toBe(
      "github.com/acme/widget/feature/login",
    );
  });

  it("without a remote: local/<repo folder>/<branch>", async () => {
    expect(await agentOf(repo("my-project", { branch: "dev" }))).toBe("local/my-project/dev");
  });

  it("prefers origin over other remotes, then upstream, then the first one", async () => {
    const withOrigin = repo("a", { remote: WIDGET });
    git(withOrigin, "remote", "add", "aaa", "https://example.com/other/first.git");
    expect(await agentOf(withOrigin)).toBe("github.com/acme/widget/main");

    const noOrigin = repo("b");
    git(noOrigin, "remote", "add", "aaa", "https://example.com/other/first.git");
    git(noOrigin, "remote", "add", "upstream", "https://example.com/up/stream.git");
    expect(await agentOf(noOrigin)).toBe("example.com/up/stream/main");
  });

  it("with no commits yet (unborn branch) uses the branch HEAD names", async () => {
    expect(await agentOf(repo("widget", { commit: false, remote: WIDGET }))).toBe("github.com/acme/widget/main");
  });

  it("detached HEAD: detached-<sha7>", async () => {
    const dir = repo("widget", { remote: WIDGET });
    git(dir, "commit", "-q", "--allow-empty", "-m", "second");
    const sha = git(dir, "rev-parse", "HEAD~1");
    git(dir, "checkout", "-q", sha);
    const id = await resolveIdentity({ cwd: dir, env: {} });
    expect(id.agent).toBe(`github.com/acme/widget/detached-${sha.slice(0, 7)}`);
    expect(id.agent).toMatch(/\/detached-[0-9a-f]{7}$/);
  });

  it("a subdirectory is the same identity as the top of the work tree", async () => {
    const dir = repo("widget", { branch: "dev", remote: WIDGET });
    const sub = join(dir, "src", "deep");
    mkdirSync(sub, { recursive: true });
    const id = await resolveIdentity({ cwd: sub, env: {} });
    expect(id).toMatchObject({ agent: "github.com/acme/widget/dev", toplevel: dir });
  });

  it("a linked worktree: its own branch, the main repository's remote", async () => {
    const main = repo("widget", { remote: WIDGET });
    const wt = join(main, "..", "wt");
    git(main, "worktree", "add", "-q", "-b", "feat", wt);
    const sub = join(wt, "pkg", "lib");
    mkdirSync(sub, { recursive: true });

    expect(await resolveIdentity({ cwd: wt, env: {} })).toMatchObject({
      agent: "github.com/acme/widget/feat",
      toplevel: wt,
    });
    expect(await agentOf(sub)).toBe("github.com/acme/widget/feat");
    // The main checkout is still its own, distinct identity.
    expect(await agentOf(main)).toBe("github.com/acme/widget/main");
  });

  it("outside any git repository: local/<cwd folder>/<short hostname>", async () => {
    const dir = folder("plain-folder");
    expect(await resolveIdentity({ cwd: dir, env: {} })).toMatchObject({
      agent: `local/plain-folder/${SHORT_HOST}`,
      source: "local",
    });
  });

  it("ABQ_AGENT overrides everything; empty or blank ABQ_AGENT is ignored", async () => {
    const dir = repo("widget", { remote: WIDGET });
    expect(await resolveIdentity({ cwd: dir, env: { ABQ_AGENT: "custom/agent" } })).toEqual({
      agent: "custom/agent",
      source: "env",
    });
    expect(await agentOf(dir)).toBe("github.com/acme/widget/main");
    expect((await resolveIdentity({ cwd: dir, env: { ABQ_AGENT: "" } })).agent).toBe("github.com/acme/widget/main");
    expect((await resolveIdentity({ cwd: dir, env: { ABQ_AGENT: "  " } })).agent).toBe("github.com/acme/widget/main");
  });
});

// GIT_DIR makes the fast `.git` reader step aside for the git CLI (simple-git). readGitState looks at
// process.env, not the `env` option, so it is set on the test process and restored afterwards. Repos are made
// before setting it: the `git()` helper passes process.env on to git.
describe("resolveIdentity with GIT_DIR set (git CLI fallback)", () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env["GIT_DIR"];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env["GIT_DIR"];
    else process.env["GIT_DIR"] = saved;
  });

  it("gives the same agent as the fast path", async () => {
    const dir = repo("widget", { remote: WIDGET });
    process.env["GIT_DIR"] = join(dir, ".git");
    expect(await resolveIdentity({ cwd: dir, env: {} })).toMatchObject({
      agent: "github.com/acme/widget/main",
      toplevel: dir,
    });
  });

  it("is really used: cwd outside the repository, GIT_DIR pointing into it", async () => {
    // The fast path would find no .git here and say local/…; git treats cwd as the work tree of GIT_DIR.
    const dir = repo("widget", { branch: "dev", remote: "git@github.com:acme/api.git" });
    const elsewhere = folder("elsewhere");
    process.env["GIT_DIR"] = join(dir, ".git");
    expect(await agentOf(elsewhere)).toBe("github.com/acme/api/dev");
  });

  it("detached HEAD and unborn branch", async () => {
    const detached = repo("widget", { remote: WIDGET });
    const sha = git(detached, "rev-parse", "HEAD");
    git(detached, "checkout", "-q", sha);
    const unborn = repo("widget", { branch: "fresh", commit: false, remote: WIDGET });

    process.env["GIT_DIR"] = join(detached, ".git");
    expect(await agentOf(detached)).toBe(`github.com/acme/widget/detached-${sha.slice(0, 7)}`);
    process.env["GIT_DIR"] = join(unborn, ".git");
    expect(await agentOf(unborn)).toBe("github.com/acme/widget/fresh");
  });

  it("GIT_DIR that is not a repository: not in git", async () => {
    const dir = folder("nogit");
    process.env["GIT_DIR"] = join(dir, "missing");
    expect(await agentOf(dir)).toBe(`local/nogit/${SHORT_HOST}`);
  });
});

describe("the CLI stamps from.agent with the derived identity", () => {
  it("https remote: widget.git → widget", async () => {
    expect((await sendFrom(repo("widget", { remote: WIDGET }))).agent).toBe("github.com/acme/widget/main");
  });

  it.each([
    ["a token", "https://x-access-token:SECRET123@github.com/acme/api.git"],
    ["user:pass with an @ in the password", "https://user:SECRET123@x@github.com/acme/api.git"],
  ])("credentials (%s) never reach the message or the bus", async (_why, url) => {
    const sent = await sendFrom(repo("api", { remote: url }));
    expect(sent.agent).toBe("github.com/acme/api/main");
    expect(sent.stdout).not.toContain("SECRET123");
    expect(sent.stderr).not.toContain("SECRET123");
    expect(sent.stored).toContain("github.com/acme/api/main"); // the message really was read back from disk
    expect(sent.stored).not.toContain("SECRET123");
  });

  it("from a subdirectory of a linked worktree", async () => {
    const main = repo("widget", { remote: WIDGET });
    const wt = join(main, "..", "wt");
    git(main, "worktree", "add", "-q", "-b", "feat", wt);
    const sub = join(wt, "sub");
    mkdirSync(sub);
    expect((await sendFrom(sub)).agent).toBe("github.com/acme/widget/feat");
  });

  it("detached HEAD", async () => {
    const dir = repo("widget", { remote: "git@gitlab.com:group/sub/proj.git" });
    const sha = git(dir, "rev-parse", "HEAD");
    git(dir, "checkout", "-q", sha);
    expect((await sendFrom(dir)).agent).toBe(`gitlab.com/group/sub/proj/detached-${sha.slice(0, 7)}`);
  });

  it("outside git", async () => {
    expect((await sendFrom(folder("plain-folder"))).agent).toBe(`local/plain-folder/${SHORT_HOST}`);
  });

  it("with GIT_DIR in its environment (git CLI fallback)", async () => {
    const dir = repo("widget", { branch: "feature/login", remote: WIDGET });
    expect((await sendFrom(dir, { GIT_DIR: join(dir, ".git") })).agent).toBe("github.com/acme/widget/feature/login");
  });

  it("ABQ_AGENT overrides the repository", async () => {
    expect((await sendFrom(repo("widget", { remote: WIDGET }), { ABQ_AGENT: "custom/agent" })).agent).toBe(
      "custom/agent",
    );
  });
});
