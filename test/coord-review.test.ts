/**
 * What a review of kv, locks and reservations as an attacker found, each kept fixed: a glob that never
 * closes a brace (it recursed until the stack ran out), paths outside the repository passing a check, one
 * bad key hiding a whole bucket (with a usage exit code), a planted link read as an I/O error, a missing
 * command under `lock run` called a usage error, and a wrong token reported as a takeover.
 */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Bus, makeBus, makeRepo } from "./helpers.ts";

function oneLine(r: { stderr: string }): string {
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

async function repoBus(): Promise<{ bus: Bus; repo: string }> {
  const bus = makeBus();
  mkdirSync(join(bus.root, "repo"));
  const repo = makeRepo(join(bus.root, "repo"));
  expect((await bus.abq(["init"])).code).toBe(0);
  return { bus, repo };
}

describe("reservations refuse what they cannot mean", () => {
  it("a glob with an unclosed or exploding brace is exit 2 in one line, never a crash", async () => {
    const { bus, repo } = await repoBus();
    for (const glob of ["src/{a,b", "src/{{a,b}", `src/${"{a,b}".repeat(12)}`]) {
      const r = await bus.abq(["reserve", glob], { cwd: repo });
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r)).toMatch(/invalid glob .*(never closed|more than 1024 alternatives)/);
    }
    expect((await bus.abq(["reserve", "src/{a,b}/**"], { cwd: repo })).code).toBe(0);
  });

  it("reserve check refuses paths outside the repository instead of calling them free", async () => {
    const { bus, repo } = await repoBus();
    for (const path of ["../../etc/passwd", "/tmp/x"]) {
      const r = await bus.abq(["reserve", "check", path], { cwd: repo });
      expect(r.code, r.stderr).toBe(2);
      expect(oneLine(r)).toMatch(/is outside the repository/);
    }
    expect((await bus.abq(["reserve", "check", "src/a.ts"], { cwd: repo })).code).toBe(0);
  });
});

describe("one bad key does not hide a bucket", () => {
  it("a corrupt key is exit 6 to get, and ls lists the others, names it, exits 6", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    expect((await bus.abq(["kv", "set", "b", "good", "v1"])).code).toBe(0);
    mkdirSync(join(bus.home, "kv", "b", "cor"));
    writeFileSync(join(bus.home, "kv", "b", "cor", "head.1"), "garbage\n");
    const get = await bus.abq(["kv", "get", "b", "cor"]);
    expect(get.code).toBe(6);
    expect(oneLine(get)).toMatch(/is not a JSON object/);
    const ls = await bus.abq(["kv", "ls", "b"]);
    expect(ls.code).toBe(6);
    expect(ls.stdout).toMatch(/good\s+1\s+v1/);
    expect(oneLine(ls)).toMatch(/cor.*is not a JSON object/);
  });

  it("a head file that is a symbolic link is refused as unsafe (exit 9), never followed", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    expect((await bus.abq(["kv", "set", "b", "good", "v1"])).code).toBe(0);
    mkdirSync(join(bus.home, "kv", "b", "hl"));
    symlinkSync("/etc/passwd", join(bus.home, "kv", "b", "hl", "head.1"));
    const get = await bus.abq(["kv", "get", "b", "hl"]);
    expect(get.code).toBe(9);
    expect(oneLine(get)).toMatch(/symbolic link .*does not follow it/);
    expect(get.stdout).not.toContain("root:");
  });
});

describe("locks say what happened", () => {
  it("lock run of a command that does not exist exits 127, as a shell does, and frees the lock", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    const r = await bus.abq(["lock", "run", "deploy", "--", "/nonexistent/cmd"]);
    expect(r.code).toBe(127);
    expect(oneLine(r)).toMatch(/cannot run \/nonexistent\/cmd: command not found/);
    expect((await bus.abq(["lock", "acquire", "deploy"])).code).toBe(0);
  });

  it("a wrong token is called a wrong token, not a takeover", async () => {
    const bus = makeBus();
    await bus.abq(["init"]);
    expect((await bus.abq(["lock", "acquire", "migration"])).code).toBe(0);
    const r = await bus.abq(["lock", "release", "migration", "--token", "bogus"]);
    expect(r.code).toBe(7);
    expect(oneLine(r)).toMatch(/is held by .*, not with that token \(check the token acquire printed/);
  });
});
