/** `--help`, `--version` and usage errors of the built CLI. (Split from test/cli.test.ts.) */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeBus, parseJson } from "./helpers.ts";

describe("help, version and usage", () => {
  it("--version prints the package version", async () => {
    const bus = makeBus();
    const pkg = parseJson<{ version: string }>(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
    expect(await bus.abq(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it.each([
    [[]],
    [["init"]],
    [["channel"]],
    [["channel", "create"]],
    [["channel", "list"]],
    [["channel", "info"]],
    [["channel", "rm"]],
    [["send"]],
    [["recv"]],
    [["respond"]],
    [["ack"]],
    [["release"]],
    [["term"]],
    [["status"]],
    [["ls"]],
    [["show"]],
    [["purge"]],
    [["schema"]],
  ])("abq %j --help exits 0 with usage", async (args) => {
    const bus = makeBus();
    const r = await bus.abq([...args, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: abq/);
  });

  it("no arguments, an unknown command or a missing argument is a one-line usage error, exit 2", async () => {
    const bus = makeBus();
    expect((await bus.abq([])).code).toBe(2);
    const unknown = await bus.abq(["sned"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^abq: unknown command 'sned'.*\n$/);
    const missing = await bus.abq(["send", "q"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });
});
