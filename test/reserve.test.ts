/**
 * `abq reserve`: the glob matcher and overlap test, reservations between agents (exclusive, shared,
 * expiry, release, races between 8 processes), `reserve check`, and a real git repository whose
 * pre-commit hook (handlers/pre-commit-reserve.sh) refuses a commit touching another agent's reserved
 * path and allows it once released. Over NATS too.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bus, CLI, GIT_ENV, makeBus, makeRepo, parseJson, ROOT, tempDir, until } from "./helpers.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import { globMatches, globsOverlap } from "../src/reserve/glob.ts";

const as = (agent: string): { env: NodeJS.ProcessEnv } => ({ env: { ABQ_AGENT: agent } });

describe("reservation globs", () => {
  it.each([
    ["src/api/**", "src/api/users.ts", true],
    ["src/api/**", "src/api/v2/deep/x.ts", true],
    ["src/api/**", "src/api", true],
    ["src/api", "src/api/users.ts", true], // a folder covers what is under it
    ["src/api/**", "src/apix/users.ts", false],
    ["src/*.ts", "src/a.ts", true],
    ["src/*.ts", "src/sub/a.ts", false],
    ["**/*.md", "docs/deep/x.md", true],
    ["**/*.md", "README.md", true],
    ["src/?.ts", "src/ab.ts", false],
    ["src/[ab].ts", "src/b.ts", true],
    ["src/[!ab].ts", "src/b.ts", false],
    ["src/{api,web}/**", "src/web/x", true],
    ["src/{api,web}/**", "src/cli/x", false],
    ["docs/a*b", "docs/a*b", true],
    ["docs/a[b", "docs/a[b", true],
  ])("%s covers %s: %s", (glob, path, expected) => {
    expect(globMatches(glob, path)).toBe(expected);
  });

  it.each([
    ["src/api/**", "src/api/users.ts", true],
    ["src/api/**", "src/**", true],
    ["src/*/x.ts", "src/api/**", true],
    ["src/*.ts", "src/*.js", false],
    ["src/a*", "src/*b", true], // "src/ab"
    ["src/a*c", "src/*b", false],
    ["**/*.md", "docs/**", true],
    ["src/api/**", "src/web/**", false],
    ["src/?", "src/ab", false],
    ["src/[xy]", "src/z", false],
    ["src/{a,b}.ts", "src/b.ts", true],
    ["lib", "lib/deep/file", true],
  ])("%s and %s overlap: %s", (a, b, expected) => {
    expect(globsOverlap(a, b)).toBe(expected);
    expect(globsOverlap(b, a)).toBe(expected);
  });
});

function reserveCases(bus: () => Bus, tag: string): void {
  it("exclusive reservations conflict across agents on overlapping globs; shared ones only with exclusive", async () => {
    const b = bus();
    const p = `${tag}-${Math.floor(Math.random() * 1e9)}`; // NATS buckets outlive a test: unique paths
    const mine = await b.abq(["reserve", `${p}/api/**`, "--reason", "refactoring", "--json"], as("alice"));
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.code, mine.stderr).toBe(0);
    const r = parseJson<{ reservation: { id: string; mode: string; globs: string[] } }>(mine.stdout).reservation;
    expect(r).toMatchObject({ mode: "exclusive", globs: [`${p}/api/**`] });
    const clash = await b.abq(["reserve", `${p}/*/users.ts`], as("bob"));
    expect([clash.code, clash.stderr]).toEqual([
      7,
      expect.stringContaining(`overlaps ${p}/api/**, reserved (exclusive) by alice until`),
    ]);
    expect(clash.stderr).toContain(": refactoring");
    expect((await b.abq(["reserve", `${p}/api/more/**`], as("alice"))).code).toBe(0); // your own: fine
    expect((await b.abq(["reserve", `${p}/web/**`], as("bob"))).code).toBe(0); // no overlap
    expect((await b.abq(["reserve", `${p}/docs/**`, "--shared"], as("alice"))).code).toBe(0);
    expect((await b.abq(["reserve", `${p}/docs/*.md`, "--shared"], as("bob"))).code).toBe(0);
    expect((await b.abq(["reserve", `${p}/docs/x.md`], as("carol"))).code).toBe(7); // exclusive vs shared
    const check = await b.abq(["reserve", "check", `${p}/api/users.ts`, `${p}/docs/x.md`, "--json"], as("bob"));
    expect(check.code).toBe(7);
    expect(parseJson(check.stdout)).toMatchObject({
      ok: false,
      checked: 2,
      conflicts: [{ path: `${p}/api/users.ts`, glob: `${p}/api/**`, reservation: { agent: "alice" } }],
    });
    expect((await b.abq(["reserve", "check", `${p}/api/users.ts`], as("alice"))).code).toBe(0);
    const released = await b.abq(["reserve", "release", `${p}/api/**`, "--json"], as("alice"));
    expect(parseJson(released.stdout)).toMatchObject({ released: [{ globs: [`${p}/api/**`] }] });
    expect((await b.abq(["reserve", "check", `${p}/api/users.ts`], as("bob"))).code).toBe(0);
    // Not */users.ts: that would overlap alice's shared docs/** (docs/users.ts), and bob's is exclusive.
    expect((await b.abq(["reserve", `${p}/*/users.ts`], as("bob"))).code).toBe(7);
    expect((await b.abq(["reserve", `${p}/api/users.ts`], as("bob"))).code).toBe(0);
    const listed = parseJson<{ reservations: { agent: string; globs: string[] }[] }>(
      (await b.abq(["reserve", "list", "--json"])).stdout,
    );
    const ours = listed.reservations.filter((x) => x.globs.some((g) => g.startsWith(`${p}/`)));
    expect(ours.map((x) => `${x.agent} ${x.globs.join(",")}`).sort()).toEqual([
      `alice ${p}/api/more/**`,
      `alice ${p}/docs/**`,
      `bob ${p}/api/users.ts`,
      `bob ${p}/docs/*.md`,
      `bob ${p}/web/**`,
    ]);
    expect((await b.abq(["reserve", "release"], as("alice"))).stdout).toBe(
      `Released 2 reservation(s): ${p}/docs/** ${p}/api/more/**\n`,
    );
  }, 60_000);

  it("8 agents race to reserve overlapping globs: exactly one wins", async () => {
    const b = bus();
    const p = `${tag}-race-${Math.floor(Math.random() * 1e9)}`;
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => b.abq(["reserve", i % 2 ? `${p}/**` : `${p}/src/**`], as(`agent-${i}`))),
    );
    expect(runs.filter((r) => r.code === 0)).toHaveLength(1);
    expect(runs.filter((r) => r.code === 7)).toHaveLength(7);
  }, 60_000);
}

describe("abq reserve on the file spool", () => {
  reserveCases(() => makeBus(), "f");

  it("expired reservations stop counting and are pruned, with a count; bad globs are exit 2", async () => {
    const b = makeBus();
    // Long enough for the check on a loaded machine; expiry is then polled for once it is due.
    const reservedAt = Date.now();
    expect((await b.abq(["reserve", "src/**", "--ttl", "6"], as("alice"))).code).toBe(0);
    expect((await b.abq(["reserve", "check", "src/a.ts"], as("bob"))).code).toBe(7);
    await new Promise((r) => setTimeout(r, Math.max(0, reservedAt + 6000 - Date.now())));
    await until(async () => (await b.abq(["reserve", "check", "src/a.ts"], as("bob"))).code === 0, 20_000);
    expect((await b.abq(["reserve", "list"])).stderr).toContain("1 expired reservation(s) not shown");
    const next = await b.abq(["reserve", "src/**"], as("bob"));
    expect([next.code, next.stderr]).toEqual([0, "pruned 1 expired reservation(s)\n"]);
    for (const bad of ["../up/**", "/etc/**", "a/../../b", ""]) {
      const r = await b.abq(["reserve", bad]);
      expect([r.code, r.stderr.split("\n").length], bad).toEqual([2, 2]);
    }
    expect((await b.abq(["reserve", "check"])).code).toBe(2);
    const staged = await b.abq(["reserve", "check", "--staged"]); // b.root is no git repository
    expect([staged.code, staged.stderr]).toEqual([2, expect.stringContaining("is not in a git repository")]);
    expect((await b.abq(["reserve", "src/**", "--shared", "--exclusive"])).code).toBe(2);
  });

  it("a pre-commit hook refuses a commit touching another agent's reserved path, and allows it after release", async () => {
    const b = makeBus();
    const repo = join(tempDir(), "app");
    mkdirSync(repo);
    makeRepo(repo);
    copyFileSync(join(ROOT, "handlers", "pre-commit-reserve.sh"), join(repo, ".git", "hooks", "pre-commit"));
    mkdirSync(join(repo, "src", "api"), { recursive: true });
    writeFileSync(join(repo, "src", "api", "users.ts"), "export {};\n");
    writeFileSync(join(repo, "README.md"), "hi\n");
    const env = { ...b.env, ABQ: `${process.execPath} ${CLI}` };
    const git = (agent: string, ...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync("git", args, {
        cwd: repo,
        encoding: "utf8",
        env: { ...env, ...GIT_ENV, ABQ_AGENT: agent },
      });
    expect((await b.abq(["reserve", "src/api/**", "--reason", "refactoring the API"], as("bob"))).code).toBe(0);
    git("alice", "add", "README.md", "src/api/users.ts");
    const refused = git("alice", "commit", "-m", "touch the api");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("src/api/users.ts: reserved by bob (src/api/**) until");
    expect(refused.stderr).toContain("refactoring the API");
    expect(execFileSync("git", ["rev-list", "--count", "HEAD"], { cwd: repo, encoding: "utf8" }).trim()).toBe("1");
    // Bob himself may commit there; so may alice, outside the reservation.
    git("alice", "reset", "-q", "src/api/users.ts");
    const other = git("alice", "commit", "-m", "readme only");
    expect(other.status, String(other.stderr)).toBe(0);
    expect((await b.abq(["reserve", "release"], as("bob"))).code).toBe(0);
    git("alice", "add", "src/api/users.ts");
    const allowed = git("alice", "commit", "-m", "touch the api");
    expect(allowed.status, String(allowed.stderr)).toBe(0);
    expect(execFileSync("git", ["rev-list", "--count", "HEAD"], { cwd: repo, encoding: "utf8" }).trim()).toBe("3");
  }, 60_000);
});

describe.skipIf(!natsAvailable())("abq reserve over NATS", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  reserveCases(() => {
    const b = makeBus();
    b.env["ABQ_URL"] = server.url;
    return b;
  }, "n");
});
