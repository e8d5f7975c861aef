/**
 * The README's "Shared state, locks and reservations" examples run as written: each `sh` block after an
 * `<!-- example: kv|lock|reserve -->` marker runs under `sh -e` on a fresh bus, with `abq` on PATH, and
 * what the comments promise is checked (outputs, and the exit 7 a stale writer or another agent gets).
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, makeBus, ROOT, tempDir } from "./helpers.ts";
import { spawnSync } from "node:child_process";

function example(name: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(`<!-- example: ${name} -->`);
  expect(at, `README has no <!-- example: ${name} --> marker`).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  return block![1]!;
}

function runExample(
  name: string,
  extra = "",
): { status: number | null; stdout: string; stderr: string; bus: ReturnType<typeof makeBus> } {
  const bus = makeBus();
  const bin = tempDir();
  writeFileSync(join(bin, "abq"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, "abq"), 0o755);
  const r = spawnSync("sh", ["-ec", example(name) + extra], {
    cwd: bus.root,
    encoding: "utf8",
    env: { ...bus.env, PATH: `${bin}:${process.env["PATH"] ?? ""}` },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, bus };
}

describe("README coordination examples", () => {
  it("kv: revisions, compare-and-set, --if-absent", () => {
    const r = runExample("kv", 'abq kv set ci last-green stale --if-revision 1 || echo "stale: $?"\n');
    expect(r.stderr).toContain("is at revision 2, not 1");
    expect(r.stdout).toBe(
      "Set ci/last-green revision 1\nSet ci/last-green revision 2\n8e1d2b7\nSet ci/owner revision 1\nstale: 7\n",
    );
    expect(r.status).toBe(0);
  });

  it("lock: acquire, release, run", () => {
    const r = runExample(
      "lock",
      'abq lock acquire migration >/dev/null; ABQ_AGENT=other abq lock acquire migration || echo "held: $?"\n',
    );
    expect(r.stdout).toMatch(
      /^Acquired migration token [0-9a-f]{16} until \S+\nReleased migration\ndeploying\nheld: 7\n$/,
    );
    expect(r.status, r.stderr).toBe(0);
  });

  it("reserve: reserve, list, check (exit 7 for another agent), release", () => {
    const r = runExample("reserve", "");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Reserved src\/api\/\*\* \(exclusive, rsv_[0-9a-f]+\) until \S+\n/);
    expect(r.stdout).toContain("refactoring the API");
    expect(r.stdout).toContain("OK: 1 path(s), none reserved by another agent\n");
    expect(r.stdout).toMatch(/Released 1 reservation\(s\): src\/api\/\*\*\n$/);
    const other = runExample(
      "reserve",
      "abq reserve 'src/api/**'; ABQ_AGENT=other abq reserve check src/api/users.ts || echo \"other: $?\"\n",
    );
    expect(other.stdout).toMatch(/other: 7\n$/);
  });
});
