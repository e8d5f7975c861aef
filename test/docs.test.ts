/**
 * docs/agents.md stays true: every shell block marked `<!-- test -->` runs, in order, with bash against
 * one throwaway bus and the built CLI on PATH as `abq`, and must exit 0 and print what its marker's
 * `expect="…"` values say. JSON blocks must parse, and the MCP tools the page names must be the server's.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterAll, describe, expect, it } from "vitest";
import { registerTools } from "../src/mcp/tools.ts";
import { CLI, ROOT } from "./helpers.ts";

const DOC = join(ROOT, "docs", "agents.md");
const text = readFileSync(DOC, "utf8");

interface Example {
  /** 1-based line of the code fence, for failure messages. */
  line: number;
  code: string;
  expects: string[];
}

/** Shell blocks preceded by a `<!-- test … -->` comment (blank lines allowed in between). */
function examples(markdown: string): Example[] {
  const found: Example[] = [];
  const marker = /<!--\s*test\b([^]*?)-->\s*\n(?:\s*\n)*```(?:sh|bash)\n([^]*?)\n```/g;
  for (const m of markdown.matchAll(marker)) {
    const expects = [...(m[1] ?? "").matchAll(/expect="([^"]*)"/g)].map((e) => e[1] ?? "");
    const fence = m.index + m[0].indexOf("```");
    found.push({ line: markdown.slice(0, fence).split("\n").length, code: m[2] ?? "", expects });
  }
  return found;
}

function run(
  code: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-u", "-o", "pipefail", "-c", code], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ code: status, out, err });
    });
  });
}

// One bus for the whole page, as for a reader following along: blocks build on the ones before.
const root = realpathSync(mkdtempSync(join(tmpdir(), "abq-docs-")));
const bin = join(root, "bin");
const work = join(root, "work");
mkdirSync(bin);
mkdirSync(work);
writeFileSync(join(bin, "abq"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
chmodSync(join(bin, "abq"), 0o755);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
  HOME: root,
  ABQ_HOME: join(root, "home"),
};
delete env["ABQ_AGENT"];
delete env["ABQ_URL"];
let failed = false;
afterAll(() => {
  if (!failed) rmSync(root, { recursive: true, force: true });
});

describe("docs/agents.md", () => {
  const blocks = examples(text);

  it("marks its runnable examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    expect(blocks.every((b) => b.code.includes("abq "))).toBe(true);
  });

  for (const block of blocks) {
    it(`the example at line ${block.line} runs and prints what it says`, async () => {
      const r = await run(block.code, work, env);
      if (r.code !== 0) failed = true;
      expect(r.code, `exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`).toBe(0);
      for (const want of block.expects) expect(r.out, `stderr:\n${r.err}`).toContain(want);
    });
  }

  it("its JSON blocks are valid JSON", () => {
    const json = [...text.matchAll(/```json\n([^]*?)\n```/g)].map((m) => m[1] ?? "");
    expect(json.length).toBeGreaterThanOrEqual(4);
    for (const block of json) expect(() => JSON.parse(block) as unknown, block).not.toThrow();
  });

  it("names exactly the MCP tools that abq mcp serves", () => {
    const served: string[] = [];
    const fake = { registerTool: (name: string) => served.push(name) } as unknown as McpServer;
    registerTools(fake, {});
    const named = new Set(text.match(/\babq_[a-z_]+/g));
    expect([...named].sort()).toEqual([...served].sort());
  });
});
