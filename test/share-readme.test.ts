/**
 * The README's "Sharing" walk-through runs as written: the `sh` block after `<!-- example: sharing -->`
 * runs under `sh -e` on a fresh bus with `abq` on PATH, `bob` being a real Unix user made for the test and
 * `sudo -u bob` done by runuser (no sudo on the test machine). What the comments promise is checked.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, makeBus, ROOT } from "./helpers.ts";
import {
  assertCanRunCli,
  cannotRun,
  extendedAcls,
  makeUser,
  openDir,
  removeDir,
  removeUsers,
} from "./fixtures/share/users.ts";

function example(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf("<!-- example: sharing -->");
  expect(at, "README has no <!-- example: sharing --> marker").toBeGreaterThan(0);
  return /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
}

const reason = cannotRun();

describe.runIf(reason !== undefined && process.env["CI"] === "true")("README sharing in CI", () => {
  it("can run (CI must not skip it)", () => {
    throw new Error(`the README sharing example cannot run: ${reason}`);
  });
});

describe.skipIf(reason !== undefined)("README: Sharing", () => {
  const bins: string[] = [];
  afterAll(() => {
    removeUsers();
    for (const b of bins) removeDir(b);
  });

  it("create, grant read-only, hand over the path, revoke", () => {
    const bob = makeUser("bob");
    assertCanRunCli(bob);
    const bus = makeBus();
    const bin = openDir("abq-share-bin-"); // bob runs abq too: a folder he can reach
    bins.push(bin);
    writeFileSync(join(bin, "abq"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(join(bin, "abq"), 0o755);
    const script = example().replaceAll("user:bob", `user:${bob.name}`);
    // `sudo -u bob CMD…` → runuser, keeping PATH (abq) for bob.
    const sudo = `sudo() { shift 2; runuser -u ${bob.name} -- env PATH="$PATH" "$@"; }\n`;
    const r = spawnSync("sh", ["-ec", sudo + script], {
      cwd: bus.root,
      encoding: "utf8",
      env: { ...bus.env, PATH: `${bin}:/usr/sbin:${process.env["PATH"] ?? ""}` },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("Created channel: reviews");
    expect(r.stdout).toContain(`Shared: reviews -> user:${bob.name}, read-only`);
    expect(r.stdout).toMatch(new RegExp(`^reviews\\s+user:${bob.name}\\s+read-only\\s+ok\\s`, "m"));
    expect(r.stdout).toMatch(/^req_\S+\s+command\s+\S+\s+\S+\s+review PR 42$/m); // bob's `ls`
    expect(r.stdout).toContain("exit 9");
    expect(r.stderr).toMatch(/cannot deliver to reviews: permission denied/);
    expect(r.stdout).toContain(`Unshared: reviews from user:${bob.name}`);
    expect(extendedAcls(bus.root)).toEqual([]);
  });
});
