/**
 * docs/library.md's example runs as written: the block after `<!-- example: library-claim -->` is
 * run with node against the built package (its `from "abq"` pointed at dist/) on a throwaway bus, and
 * what it claims and answers is checked on disk through the CLI.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { LIB, makeBus, parseJson, ROOT, runNode } from "./helpers.ts";

function example(name: string): string {
  const text = readFileSync(join(ROOT, "docs", "library.md"), "utf8");
  const m = new RegExp(`<!-- example: ${name} -->\\s*\\n\`\`\`js\\n([^]*?)\\n\`\`\``).exec(text);
  if (!m) throw new Error(`docs/library.md has no example named ${name}`);
  return m[1]!;
}

describe("docs/library.md", () => {
  it("the library example claims, reports progress and answers through the claim handle", async () => {
    const bus = makeBus();
    const code = example("library-claim").replace(/from "abq"/g, `from ${JSON.stringify(pathToFileURL(LIB).href)}`);
    const file = join(bus.home, "..", "example.mjs");
    writeFileSync(file, code);
    const r = await runNode([file], { env: bus.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^make test \/\S+\/processing\/req_[0-9a-f]+\.json \d{4}-/);
    const [sent] = (await bus.abq(["ls", "builds", "archive", "--json"])).stdout.trim().split("\n");
    const id = parseJson<{ id: string }>(sent!).id;
    const shown = parseJson<{ state: string; response: { result: string; from: { agent: string } } }>(
      (await bus.abq(["show", id, "--json"])).stdout,
    );
    expect(shown).toMatchObject({ state: "done", response: { result: "42 passed", from: { agent: "builder" } } });
  });
});
