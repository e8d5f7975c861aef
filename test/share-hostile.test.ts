/**
 * `abq share` under attack and accident: bad grantees, a linked channel folder, a channel someone else
 * owns, a folder above the bus that is not the owner's, drift (`abq init` hiding the way in, a folder
 * losing its entries), SIGKILL in the middle of a share and of an unshare; and a non-root owner, whose
 * grantee's files stay readable to it and keep (and are counted as keeping) their inherited entries.
 */
import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, type Bus } from "./helpers.ts";
import {
  assertCanRunCli,
  cannotRun,
  extendedAcls,
  getfacl,
  makeUser,
  openDir,
  removeDir,
  removeUsers,
  runAs,
  type TestUser,
} from "./fixtures/share/users.ts";

const reason = cannotRun();

describe.runIf(reason !== undefined && process.env["CI"] === "true")("hostile sharing in CI", () => {
  it("can run (CI must not skip it)", () => {
    throw new Error(`the sharing tests cannot run: ${reason}`);
  });
});

describe.skipIf(reason !== undefined)("abq share: hostile input, drift, crashes, a non-root owner", () => {
  const dirs: string[] = [];
  const user = (tag: string): TestUser => {
    const u = makeUser(tag);
    assertCanRunCli(u);
    return u;
  };
  afterAll(() => {
    removeUsers();
    for (const d of dirs) removeDir(d);
  });

  async function busWithJobs(): Promise<Bus> {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    const r = await bus.abq(["channel", "create", "jobs"]);
    expect(r.code, r.stderr).toBe(0);
    return bus;
  }

  it("refuses bad grantees and bad arguments with one line and the documented exit code", async () => {
    const bus = await busWithJobs();
    const cases: [string[], number, RegExp][] = [
      [["share", "jobs"], 2, /--with/],
      [["share", "jobs", "--with", "bob"], 2, /not a grantee/],
      [["share", "jobs", "--with", "user:"], 2, /not a grantee/],
      [["share", "jobs", "--with", "user:a b"], 2, /not a grantee/],
      [["share", "jobs", "--with", `user:${"x".repeat(300)}`], 2, /not a grantee/],
      [["share", "jobs", "--with", "user:-r"], 2, /not a grantee/],
      [["share", "jobs", "--with", "user:no_such_user_zz9"], 2, /no user named no_such_user_zz9/],
      [["share", "jobs", "--with", "group:no_such_group_zz9"], 2, /no group named/],
      [["share", "jobs", "--with", "user:root"], 2, /already own/],
      [["share", "jobs", "--with", "user:nobody", "--read-only", "--read-write"], 2, /cannot be used with/],
      [["share", "nosuch", "--with", "user:nobody"], 3, /nosuch/],
      [["share", "../etc", "--with", "user:nobody"], 2, /channel name/i],
      [["unshare", "jobs"], 2, /--with .* or --all/],
      [["unshare", "jobs", "--all", "--with", "user:nobody"], 2, /cannot be used with/],
      [["shares", "--bogus"], 2, /unknown option/],
    ];
    for (const [args, code, message] of cases) {
      const r = await bus.abq(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    }
    const nats = await bus.abq(["share", "jobs", "--with", "user:nobody"], { env: { ABQ_URL: "nats://127.0.0.1:1" } });
    expect(nats.code).toBe(2);
    expect(nats.stderr).toMatch(/over NATS, sharing is the server's user permissions/);
    expect(extendedAcls(bus.root)).toEqual([]);
  });

  it("never follows a linked channel folder, and only the owner may share", async () => {
    const bus = await busWithJobs();
    const outside = openDir("abq-share-outside-");
    dirs.push(outside);
    mkdirSync(join(outside, "requests"));
    symlinkSync(outside, join(bus.home, "channels", "linked"));
    const r = await bus.abq(["share", "linked", "--with", "user:nobody"]);
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(/symbolic link/);
    expect(extendedAcls(outside)).toEqual([]);

    const mallory = user("mal");
    expect((await bus.abq(["share", "jobs", "--with", `user:${mallory.name}`, "--read-write"])).code).toBe(0);
    const reshare = await runAs(mallory, bus.home, ["share", "jobs", "--with", "user:nobody"]);
    expect(reshare.code, reshare.stderr).toBe(9);
    expect(reshare.stderr).toMatch(/only its owner can share it/);
    expect(getfacl(join(bus.home, "channels", "jobs"))).not.toContain("user:65534");
  });

  it("a folder above the bus that is not the owner's stops the share before anything changes", async () => {
    const owner = user("own");
    const guest = user("gst");
    const top = openDir("abq-share-top-");
    dirs.push(top);
    // Root's folder that the owner may pass (group) and the guest may not.
    const gate = join(top, "gate");
    mkdirSync(gate);
    chownSync(gate, 0, owner.gid);
    chmodSync(gate, 0o710);
    const mine = join(gate, "mine");
    mkdirSync(mine, { mode: 0o700 });
    chownSync(mine, owner.uid, owner.gid);
    const home = join(mine, "bus");
    expect((await runAs(owner, home, ["channel", "create", "jobs"])).code).toBe(0);
    const r = await runAs(owner, home, ["share", "jobs", "--with", `user:${guest.name}`]);
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toContain(`user ${guest.name} cannot pass through ${gate} (owner uid 0, mode 710)`);
    expect(extendedAcls(top)).toEqual([]);
    expect((await runAs(owner, home, ["shares"])).stdout.trim()).toBe("No shares");
  });

  it("a non-root owner reads what its grantee wrote; unshare --all counts the grantee's files it cannot clean", async () => {
    const owner = user("own2");
    const writer = user("wrt");
    const top = openDir("abq-share-top-");
    dirs.push(top);
    const mine = join(top, "mine");
    mkdirSync(mine, { mode: 0o700 });
    chownSync(mine, owner.uid, owner.gid);
    const home = join(mine, "bus");
    expect((await runAs(owner, home, ["channel", "create", "jobs"])).code).toBe(0);
    const shared = await runAs(owner, home, ["share", "jobs", "--with", `user:${writer.name}`, "--read-write"]);
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stdout).toContain(`Pass-through (execute-only) added on: ${mine}, ${home}`);
    const sent = await runAs(writer, home, ["send", "jobs", "command", "from the writer", "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const id = parseJson<{ id: string }>(sent.stdout).id;
    const file = join(home, "channels", "jobs", "requests", `${id}.json`);
    expect(statSync(file).uid).toBe(writer.uid);
    const got = await runAs(owner, home, ["recv", "jobs", "--json"]);
    expect(got.code, got.stderr).toBe(0);
    expect(parseJson<{ content: string }>(got.stdout).content).toBe("from the writer");
    const check = await runAs(owner, home, ["check", "--json"]);
    expect(check.stdout).toContain(`shared with user:${writer.name}, read-write`);

    const all = await runAs(owner, home, ["unshare", "jobs", "--all", "--json"]);
    expect(all.code, all.stderr).toBe(0);
    const kept = parseJson<{ not_owned: number }>(all.stdout).not_owned;
    const left = extendedAcls(top);
    expect(left.length).toBe(kept);
    expect(kept).toBeGreaterThan(0);
    for (const path of left) expect(statSync(path).uid).toBe(writer.uid); // only the writer's own files
    expect(getfacl(mine)).not.toContain(`user:${writer.uid}`);
    expect((await runAs(writer, home, ["ls", "jobs"])).code).toBe(9);
    // The owner still reads the message the writer sent, through the entry it kept.
    const show = await runAs(owner, home, ["show", id, "--json"]);
    expect(show.code, show.stderr).toBe(0);
  });

  it("reports drift and repairs it: abq init hiding the way in, a folder that lost its entries", async () => {
    const bus = await busWithJobs();
    const reader = user("rdr");
    expect((await bus.abq(["share", "jobs", "--with", `user:${reader.name}`])).code).toBe(0);
    expect((await runAs(reader, bus.home, ["ls", "jobs"])).code).toBe(0);
    expect((await bus.abq(["init"])).code).toBe(0); // chmod 0700: the mask hides the execute-only entry
    expect((await runAs(reader, bus.home, ["ls", "jobs"])).code).toBe(9);
    const { execFileSync } = await import("node:child_process");
    execFileSync("setfacl", ["-b", join(bus.home, "channels", "jobs", "archive")]);
    const check = await bus.abq(["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`user:${reader.name} can no longer pass through ${bus.home}`);
    expect(check.stdout).toMatch(/1 path\(s\) do not carry the share, such as \S+\/archive/);
    const again = await bus.abq(["share", "jobs", "--with", `user:${reader.name}`]);
    expect(again.code, again.stderr).toBe(0);
    expect((await runAs(reader, bus.home, ["ls", "jobs"])).code).toBe(0);
    const clean = await bus.abq(["check", "--json"]);
    const findings = parseJson<{ findings: { check: string; level: string }[] }>(clean.stdout).findings;
    expect(findings.filter((f) => f.check === "shares" && f.level !== "info")).toEqual([]);
  });

  it("a shared channel removed since: check says so, unshare --all still takes the way in away", async () => {
    const bus = await busWithJobs();
    const reader = user("gone");
    expect((await bus.abq(["share", "jobs", "--with", `user:${reader.name}`])).code).toBe(0);
    expect((await bus.abq(["channel", "rm", "jobs", "--yes"])).code).toBe(0);
    const check = await bus.abq(["check"]);
    expect(check.stdout).toContain("shared channel jobs no longer exists (abq unshare jobs --all");
    const r = await bus.abq(["unshare", "jobs", "--all"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Unshared: jobs from user:${reader.name}`);
    expect(extendedAcls(bus.root)).toEqual([]);
    expect((await bus.abq(["unshare", "jobs", "--all"])).code).toBe(3); // nothing left: not found
  });

  it("SIGKILLed in the middle of a share or an unshare, the same command again completes it", async () => {
    const bus = await busWithJobs();
    const reader = user("crash");
    const archive = join(bus.home, "channels", "jobs", "archive");
    for (let i = 0; i < 3000; i++) writeFileSync(join(archive, `filler-${i}.json`), "{}\n", { mode: 0o600 });
    const killedAfter = async (args: string[], ms: number): Promise<void> => {
      const child = spawn(process.execPath, [CLI, ...args], { env: bus.env, stdio: "ignore", detached: true });
      await new Promise((r) => setTimeout(r, ms));
      try {
        process.kill(-child.pid!, "SIGKILL"); // abq and the setfacl it runs
      } catch {
        // it had finished
      }
      await new Promise((r) => child.once("exit", r));
    };
    for (const ms of [150, 300, 450]) {
      await killedAfter(["share", "jobs", "--with", `user:${reader.name}`, "--read-write"], ms);
      const again = await bus.abq(["share", "jobs", "--with", `user:${reader.name}`, "--read-write"]);
      expect(again.code, again.stderr).toBe(0);
      const checked = await bus.abq(["check", "--json"]);
      expect(checked.stdout, checked.stderr).not.toBe("");
      const check = parseJson<{ findings: { check: string; level: string; message: string }[] }>(checked.stdout);
      expect(check.findings.filter((f) => f.check === "shares" && f.level !== "info")).toEqual([]);
      expect((await runAs(reader, bus.home, ["ls", "jobs", "done"])).code).toBe(0);

      await killedAfter(["unshare", "jobs", "--all"], ms);
      const undo = await bus.abq(["unshare", "jobs", "--with", `user:${reader.name}`]);
      expect(undo.code, undo.stderr).toBe(0);
      expect(extendedAcls(bus.root)).toEqual([]);
      expect(readdirSync(join(bus.home, "tmp")).filter((n) => n.endsWith(".lock"))).toEqual([]);
    }
  });
});
