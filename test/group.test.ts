/**
 * Channels shared between Unix users (`--group`): run as root, the test acts as a second user (`nobody`)
 * through real child processes with another uid. Skipped, saying so, only where we are not root; the
 * checkout is made reachable for that user wherever it was cloned (test/fixtures/reach.ts).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, makeBus, parseJson, type Bus } from "./helpers.ts";
import { letUserReachCheckout } from "./fixtures/reach.ts";

const OTHER = { uid: 65534, gid: 65534 }; // nobody:nogroup on Debian

function asOther(bus: Bus, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    ...OTHER,
    cwd: "/",
    env: { ...bus.env, HOME: "/tmp", ABQ_AGENT: "teammate/nobody" },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Root is needed to act as another uid; in CI (root there) the test must run, never skip. */
const IS_ROOT = process.getuid?.() === 0;
if (!IS_ROOT) process.stderr.write("group test skipped: not root, cannot act as another user\n");

describe.skipIf(!IS_ROOT)("--group channels shared between users", () => {
  // The clone may sit where other users cannot enter (a 0700 mktemp folder, /root): let nobody through.
  let undo: () => void = () => undefined;
  beforeAll(() => {
    undo = letUserReachCheckout(OTHER.uid);
    const r = spawnSync(process.execPath, [CLI, "--version"], { ...OTHER, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`uid ${OTHER.uid} cannot run ${CLI}: ${r.stderr}`);
  });
  afterAll(() => undo());

  it("another user in the group sends, the owner receives and answers, the other reads the answer", async () => {
    const bus = makeBus();
    chmodSync(bus.root, 0o755); // the test's temp root must be reachable, as a real home's parent is
    expect((await bus.abq(["channel", "create", "shared", "--group"])).code).toBe(0);
    expect((await bus.abq(["channel", "create", "private"])).code).toBe(0);
    const ch = join(bus.home, "channels", "shared");
    expect(statSync(ch).mode & 0o7777).toBe(0o2770);
    expect(statSync(join(ch, "requests")).mode & 0o7777).toBe(0o2770);
    expect(statSync(join(ch, "channel.json")).mode & 0o777).toBe(0o660);
    expect(statSync(bus.home).mode & 0o777).toBe(0o750);
    // As the README says: give the team group the home, channels/ and the channel.
    for (const p of [bus.home, join(bus.home, "channels")]) chownSync(p, 0, OTHER.gid);
    const walk = (dir: string): void => {
      chownSync(dir, 0, OTHER.gid);
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else chownSync(join(dir, e.name), 0, OTHER.gid);
      }
    };
    walk(ch);

    const sent = asOther(bus, ["send", "shared", "signal", "from a teammate", "--json"]);
    expect(sent.code, sent.stderr).toBe(0);
    const id = parseJson<{ id: string }>(sent.stdout).id;
    const file = join(ch, "requests", `${id}.json`);
    expect(statSync(file).uid).toBe(OTHER.uid);
    expect(statSync(file).mode & 0o777).toBe(0o660);

    const got = await bus.abq(["recv", "shared", "--json"]);
    expect(parseJson<{ content: string }>(got.stdout).content).toBe("from a teammate");
    expect((await bus.abq(["respond", "shared", id, "--result", "thanks"])).code).toBe(0);
    const shown = asOther(bus, ["show", id, "--channel", "shared", "--json"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(parseJson<{ response: { result: string } }>(shown.stdout).response.result).toBe("thanks");

    // A private channel stays private: the other user cannot get in.
    const denied = asOther(bus, ["send", "private", "signal", "x"]);
    expect(denied.code).not.toBe(0);
    expect((await bus.abq(["check"])).code).toBe(0);
  });
});
