/**
 * The documentation stays true.
 * - docs/agents.md: every shell block marked `<!-- test -->` runs, in order, with bash against one
 *   throwaway bus and the built CLI on PATH as `abq`, and must exit 0 and print what its marker's
 *   `expect="…"` values say. JSON blocks must parse, and the MCP tools the page names must be the server's.
 * - README.md, CHANGELOG.md and every docs/*.md: every relative link resolves to a file that exists, and
 *   every `#anchor` to a heading of its target (GitHub's slugs); links stay inside what the package ships.
 * - The README stays a short tour (size, no "seed" jargon, links every docs page), and the exit-code
 *   table of docs/commands.md lists exactly the codes of src/cli/exit.ts.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { anchors, broken, links } from "./markdown-links.ts";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit.ts";
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

const DOCS = join(ROOT, "docs");
const PAGES = [
  join(ROOT, "README.md"),
  join(ROOT, "CHANGELOG.md"),
  ...readdirSync(DOCS)
    .filter((n) => n.endsWith(".md"))
    .sort()
    .map((n) => join(DOCS, n)),
];
/** What the package ships besides dist/ (package.json "files"): links may point only at these. */
const SHIPPED = ["README.md", "CHANGELOG.md", "LICENSE", "package.json", "docs", "handlers", "nats/abq-server.conf"];

describe("links in README.md, CHANGELOG.md and docs/", () => {
  it("the slugger agrees with GitHub on the headings the pages link to", () => {
    const slugs = anchors(
      "## Keep it healthy: `abq sweep` from cron\n## Inboxes: reply_to, @self and @parent\n## A\n## A\n",
    );
    expect([...slugs]).toEqual(["keep-it-healthy-abq-sweep-from-cron", "inboxes-reply_to-self-and-parent", "a", "a-1"]);
  });

  for (const page of PAGES) {
    it(`${relative(ROOT, page)}: every relative link and anchor resolves, to a file the package ships`, () => {
      const found = links(page);
      const bad = found
        .map((l) => {
          const why = broken(l, ROOT);
          const path = relative(ROOT, resolve(dirname(l.file), l.target.split("#")[0] || l.file));
          const shipped = SHIPPED.some((s) => path === s || path.startsWith(`${s}/`));
          return why ?? (shipped ? undefined : "not shipped in the package");
        })
        .map((why, i) =>
          why === undefined ? undefined : `${relative(ROOT, page)}:${found[i]!.line} ${found[i]!.target}: ${why}`,
        )
        .filter((x) => x !== undefined);
      expect(bad).toEqual([]);
    });
  }

  it("the checker catches a broken file link and a broken anchor", () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), "abq-links-")));
    try {
      writeFileSync(
        join(dir, "a.md"),
        "# Top\n\n[ok](#top) [file](b.md#there) [gone](c.md) [anchor](b.md#nowhere) `[x](y.md)`\n",
      );
      writeFileSync(join(dir, "b.md"), "## There\n\n```md\n## Not a heading\n[not a link](z.md)\n```\n");
      const why = links(join(dir, "a.md")).map((l) => broken(l, dir));
      expect(why).toEqual([undefined, undefined, "no such file", "no heading #nowhere in b.md"]);
      expect(links(join(dir, "b.md"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("README.md", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  // 15 KB until the coordination, attachments, sharing and dashboard sections (one short block each).
  it("stays a short tour: at most 17 KB", () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(17 * 1024);
  });

  it("starts its quick start with the two commands, before any other block", () => {
    const quick = readme.slice(readme.indexOf("## Quick start"));
    expect(quick).toMatch(/^## Quick start\n\n```sh\nnpm install && npm run demo\nnpm test\n```/);
  });

  it('says "the original Python abq" or "protocol 1.0.0", not "seed"', () => {
    expect(readme).not.toMatch(/\bseed/i);
  });

  it("links every page in docs/", () => {
    const linked = new Set(links(join(ROOT, "README.md")).map((l) => l.target.split("#")[0]));
    const pages = readdirSync(DOCS).filter((n) => n.endsWith(".md"));
    expect(pages.filter((n) => !linked.has(`docs/${n}`))).toEqual([]);
  });

  it("keeps crontab lines out of sh blocks", () => {
    for (const page of PAGES) {
      const text = readFileSync(page, "utf8");
      for (const m of text.matchAll(/```(?:sh|bash)\n([^]*?)\n```/g)) {
        expect(m[1], relative(ROOT, page)).not.toMatch(/^\s*(?:[\d*/,-]+\s+){5}\S/m);
      }
    }
  });
});

describe("docs/commands.md", () => {
  it("its exit-code table lists exactly the CLI's exit codes (and the two signal codes)", () => {
    const text = readFileSync(join(DOCS, "commands.md"), "utf8");
    const section = text.slice(text.indexOf("## Exit codes"));
    const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| code")));
    const codes = [...table.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual([...Object.values(EXIT), 130, 143].sort((a, b) => a - b));
  });
});
