/**
 * `abq share` between real Unix users (made with useradd; we run as root, the bus's owner): a read-only
 * grantee reads but the kernel refuses its sends, claims and answers (exit 9); upgraded, it does
 * everything; revoked while its `watch` runs, the watcher stops with exit 9 and nothing is lost; and
 * `unshare --all` leaves no ACL entry anywhere, as getfacl sees it.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync, chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeBus, parseJson, until, untilTailIsLive, type Bus } from "./helpers.ts";
import {
  assertCanRunCli,
  cannotRun,
  extendedAcls,
  getfacl,
  makeGroup,
  makeUser,
  openDir,
  removeDir,
  removeUsers,
  runAs,
  startAs,
  type TestUser,
} from "./fixtures/share/users.ts";

const reason = cannotRun();
if (reason !== undefined) process.stderr.write(`share tests skipped: ${reason}\n`);

describe.runIf(reason !== undefined && process.env["CI"] === "true")("sharing in CI", () => {
  it("can run (CI must not skip it)", () => {
    throw new Error(`the sharing tests cannot run: ${reason}`);
  });
});

describe.skipIf(reason !== undefined)("abq share between Unix users", () => {
  const users: TestUser[] = [];
  const dirs: string[] = [];
  const user = (tag: string): TestUser => {
    const u = makeUser(tag);
    assertCanRunCli(u);
    users.push(u);
    return u;
  };
  afterAll(() => {
    removeUsers();
    for (const d of dirs) removeDir(d);
  });

  async function ownerBus(): Promise<Bus> {
    const bus = makeBus({ ABQ_FSYNC: "0" });
    const made = await bus.abq(["channel", "create", "jobs"]);
    expect(made.code, made.stderr).toBe(0);
    return bus;
  }

  /** The id and lease token `abq recv` prints. */
  function claimOf(text: string): { id: string; token: string } {
    const id = /^ID: (\S+)$/m.exec(text)?.[1];
    const token = /^Lease: (\S+) /m.exec(text)?.[1];
    expect(id !== undefined && token !== undefined, text).toBe(true);
    return { id: id!, token: token! };
  }

  async function sendId(bus: Bus, content: string): Promise<string> {
    const r = await bus.abq(["send", "jobs", "command", content, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return parseJson<{ id: string }>(r.stdout).id;
  }

  it("read-only: lists, shows and tails; sends, claims and answers fail with exit 9; read-write then works", async () => {
    const bus = await ownerBus();
    const bob = user("ro");
    const first = await sendId(bus, "first");
    const shared = await bus.abq(["share", "jobs", "--with", `user:${bob.name}`]);
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stdout).toContain(`Shared: jobs -> user:${bob.name}, read-only`);
    // Grantees pass through the folders above the channel (execute-only), and see into the channel.
    expect(getfacl(bus.home)).toContain(`user:${bob.uid}:--x`);
    expect(getfacl(join(bus.home, "channels", "jobs"))).toContain(`default:user:${bob.uid}:r-x`);

    const ls = await runAs(bob, bus.home, ["ls", "jobs"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain(first);
    const show = await runAs(bob, bus.home, ["show", first, "--channel", "jobs", "--json"]);
    expect(show.code, show.stderr).toBe(0);
    expect(parseJson<{ request: { content: string } }>(show.stdout).request.content).toBe("first");
    const tail = startAs(bob, bus.home, ["tail", "jobs"]);
    const probes = await untilTailIsLive(tail.stdout, (i) => sendId(bus, `probe ${i}`));
    for (const probe of probes) expect((await bus.abq(["cancel", "jobs", probe])).code).toBe(0);
    const second = await sendId(bus, "second, made after the share");
    await until(() => tail.stdout().includes(second), 15_000);
    tail.kill();
    await tail.done;

    for (const args of [
      ["send", "jobs", "command", "not allowed"],
      ["recv", "jobs"],
      ["cancel", "jobs", first],
    ]) {
      const r = await runAs(bob, bus.home, args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(9);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/permission denied/);
    }
    // The owner claims one; the grantee holds its lease token and still cannot answer it.
    const claimed = claimOf((await bus.abq(["recv", "jobs"])).stdout);
    const answer = await runAs(bob, bus.home, [
      "respond",
      "jobs",
      claimed.id,
      "--lease",
      claimed.token,
      "--result",
      "x",
    ]);
    expect(answer.code, answer.stderr).toBe(9);
    expect((await bus.abq(["ls", "jobs", "--json"])).stdout.trim().split("\n")).toHaveLength(1);
    expect((await bus.abq(["release", "jobs", claimed.id, "--lease", claimed.token])).code).toBe(0);

    const upgraded = await bus.abq(["share", "jobs", "--with", `user:${bob.name}`, "--read-write"]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toContain("read-write (was read-only)");
    const sent = await runAs(bob, bus.home, ["send", "jobs", "command", "from bob", "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const got = await runAs(bob, bus.home, ["recv", "jobs"]);
    expect(got.code, got.stderr).toBe(0);
    const g = claimOf(got.stdout);
    const resp = await runAs(bob, bus.home, ["respond", "jobs", g.id, "--lease", g.token, "--result", "done by bob"]);
    expect(resp.code, resp.stderr).toBe(0);
    const seen = await bus.abq(["show", g.id, "--json"]);
    expect(parseJson<{ response: { result: string } }>(seen.stdout).response.result).toBe("done by bob");

    const list = await bus.abq(["shares", "--json"]);
    const entries = list.stdout
      .trim()
      .split("\n")
      .map((l) => parseJson<Record<string, unknown>>(l));
    expect(entries).toEqual([
      expect.objectContaining({ channel: "jobs", grantee: `user:${bob.name}`, access: "read-write", on_disk: "ok" }),
    ]);
    const check = await bus.abq(["check", "--json"]);
    const findings = parseJson<{ findings: { level: string; check: string; message: string }[] }>(
      check.stdout,
    ).findings;
    expect(findings).toContainEqual(
      expect.objectContaining({ level: "info", check: "shares", message: `shared with user:${bob.name}, read-write` }),
    );
    expect(findings.filter((f) => f.check === "shares" && f.level !== "info")).toEqual([]);
  });

  it("revoked during a running watch: the grantee's watcher stops with exit 9 and the owner's messages are intact", async () => {
    const bus = await ownerBus();
    const carol = user("rw");
    const scripts = openDir("abq-share-handler-");
    dirs.push(scripts);
    const handler = join(scripts, "handler.sh");
    writeFileSync(handler, "#!/bin/sh\ncat >/dev/null\necho handled\n");
    chmodSync(handler, 0o755);
    expect((await bus.abq(["share", "jobs", "--with", `user:${carol.name}`, "--read-write"])).code).toBe(0);
    const watch = startAs(carol, bus.home, ["watch", "jobs", "--handler", handler]);
    const m1 = await sendId(bus, "one");
    await until(async () => (await bus.abq(["show", m1])).stdout.includes("State: done"), 20_000);

    const revoked = await bus.abq(["unshare", "jobs", "--with", `user:${carol.name}`]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`Unshared: jobs from user:${carol.name}`);
    const m2 = await sendId(bus, "two");
    const m3 = await sendId(bus, "three");
    const r = await watch.done;
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(/abq: .*permission denied/);
    // Nothing lost: the answered one is done, the two sent after the revocation wait for someone else.
    const pending = (await bus.abq(["ls", "jobs", "--json"])).stdout;
    expect(pending).toContain(m2);
    expect(pending).toContain(m3);
    expect((await bus.abq(["show", m1])).stdout).toContain("Result: handled");
    const after = await runAs(carol, bus.home, ["ls", "jobs"]);
    expect(after.code).toBe(9);
    expect(getfacl(bus.home)).not.toContain(`user:${carol.uid}`);
  });

  it("unshare --all leaves no ACL entry anywhere, and the modes of a private channel again", async () => {
    const bus = await ownerBus();
    const dave = user("ro2");
    const erin = user("rw2");
    const team = makeGroup("team", [erin]);
    await sendId(bus, "before");
    expect((await bus.abq(["share", "jobs", "--with", `user:${dave.name}`])).code).toBe(0);
    expect((await bus.abq(["share", "jobs", "--with", `group:${team.name}`, "--read-write"])).code).toBe(0);
    const asMember = await runAs(erin, bus.home, ["send", "jobs", "command", "via the group"]);
    expect(asMember.code, asMember.stderr).toBe(0);
    await sendId(bus, "after");
    expect(extendedAcls(bus.root).length).toBeGreaterThan(0);
    // One grantee out, the other still in: dave's entries go everywhere, the group's stay.
    expect((await bus.abq(["unshare", "jobs", "--with", `user:${dave.name}`])).code).toBe(0);
    expect((await runAs(dave, bus.home, ["ls", "jobs"])).code).toBe(9);
    const everywhere = execFileSync("getfacl", ["-R", "-n", "-p", bus.root], { encoding: "utf8" });
    expect(everywhere).not.toMatch(new RegExp(`user:${dave.uid}:`));
    expect(everywhere).toMatch(new RegExp(`group:${team.gid}:rw`));
    const still = await runAs(erin, bus.home, ["send", "jobs", "command", "still in"]);
    expect(still.code, still.stderr).toBe(0);

    const all = await bus.abq(["unshare", "jobs", "--all", "--json"]);
    expect(all.code, all.stderr).toBe(0);
    const result = parseJson<{ removed: string[]; traverse_removed: string[] }>(all.stdout);
    expect(result.removed).toEqual([`group:${team.name}`]);
    expect(result.traverse_removed).toContain(bus.home);
    expect(extendedAcls(bus.root)).toEqual([]);
    const ch = join(bus.home, "channels", "jobs");
    expect(statSync(ch).mode & 0o7777).toBe(0o700);
    expect(statSync(join(ch, "requests")).mode & 0o7777).toBe(0o700);
    expect(statSync(bus.home).mode & 0o7777).toBe(0o700);
    expect((await bus.abq(["shares"])).stdout.trim()).toBe("No shares");
    expect((await runAs(dave, bus.home, ["ls", "jobs"])).code).toBe(9);
    expect((await bus.abq(["check"])).stdout).not.toContain("shares");
  });
});
