/**
 * What `npm pack` ships is what a user gets from an install: the built CLI and library, the docs the
 * README links to, LICENSE, CHANGELOG.md, the example handlers (still executable) and the NATS config the
 * docs tell you to run; no tests, no TypeScript sources, no compile caches. The packed README's and docs'
 * links resolve inside the unpacked package, and the unpacked CLI (its dependencies linked from this
 * checkout, since installing from the registry is not possible offline) runs `--version` and a round trip
 * through a packed handler.
 *
 * `--ignore-scripts` keeps `npm pack` from running `prepare` (a build): the test packs the dist/ that the
 * test run uses.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { broken, links, prose } from "./markdown-links.ts";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runNode, startNode, tempDir } from "./helpers.ts";

interface Packed {
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  /** `ls -l`-style mode strings by path. */
  modes: Map<string, string>;
  /** The unpacked package. */
  dir: string;
}

let packed: Packed;
const out = realpathSync(mkdtempSync(join(tmpdir(), "abq-pack-")));
afterAll(() => rmSync(out, { recursive: true, force: true }));

beforeAll(() => {
  const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--pack-destination", out, "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
  const tarball = join(out, filename);
  const list = spawnSync("tar", ["tvzf", tarball], { encoding: "utf8" });
  if (list.status !== 0) throw new Error(`tar tvzf failed:\n${list.stderr}`);
  const modes = new Map<string, string>();
  for (const line of list.stdout.trim().split("\n")) {
    const parts = line.trim().split(/\s+/);
    const path = (parts[parts.length - 1] ?? "").replace(/^package\//, "");
    modes.set(path, parts[0] ?? "");
  }
  const unpack = spawnSync("tar", ["xzf", tarball, "-C", out], { encoding: "utf8" });
  if (unpack.status !== 0) throw new Error(`tar xzf failed:\n${unpack.stderr}`);
  packed = { files: [...modes.keys()].sort(), modes, dir: join(out, "package") };
}, 60_000);

/** The relative links of a packed markdown file that do not resolve inside the unpacked package. */
function brokenLinks(file: string): string[] {
  return links(file).flatMap((l) => {
    const why = broken(l, packed.dir);
    return why === undefined ? [] : [`${relative(packed.dir, file)}: ${l.target} (${why})`];
  });
}

describe("the packed package (npm pack)", () => {
  it("ships the docs, LICENSE, CHANGELOG.md, the handlers and the NATS config", () => {
    const docs = readdirSync(join(ROOT, "docs")).filter((n) => n.endsWith(".md"));
    const handlers = readdirSync(join(ROOT, "handlers"));
    const want = [
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "package.json",
      "dist/bin/abq.js",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "nats/abq-server.conf",
      ...docs.map((n) => `docs/${n}`),
      ...handlers.map((n) => `handlers/${n}`),
    ];
    expect(want.filter((f) => !packed.files.includes(f))).toEqual([]);
    expect(docs.length).toBeGreaterThanOrEqual(10);
    expect(readFileSync(join(packed.dir, "LICENSE"), "utf8")).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 the abq authors\n/,
    );
  });

  it("keeps the handlers and the CLI executable", () => {
    for (const f of [...packed.files.filter((p) => p.startsWith("handlers/")), "dist/bin/abq.js"])
      expect(packed.modes.get(f), f).toMatch(/^-rwx/);
  });

  it("ships no tests, sources, benchmarks or compile caches", () => {
    const unwanted = packed.files.filter(
      (f) =>
        /^(test|src|bin|bench|scripts|\.ci)\//.test(f) ||
        /\.cache$/.test(f) ||
        (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) ||
        f.startsWith("node_modules/"),
    );
    expect(unwanted).toEqual([]);
  });

  it("its README's and docs' links all resolve inside the package", () => {
    const pages = [
      join(packed.dir, "README.md"),
      join(packed.dir, "CHANGELOG.md"),
      ...readdirSync(join(packed.dir, "docs"))
        .filter((n) => n.endsWith(".md"))
        .map((n) => join(packed.dir, "docs", n)),
    ];
    const readmeLinks = [...prose(readFileSync(pages[0]!, "utf8")).matchAll(/\]\((docs\/[^)#\s]+)/g)];
    expect(readmeLinks.length).toBeGreaterThanOrEqual(10);
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });

  it("runs from the unpacked folder: --version, abq handlers, and a round trip through a packed handler", async () => {
    symlinkSync(join(ROOT, "node_modules"), join(packed.dir, "node_modules"));
    const cli = join(packed.dir, "dist", "bin", "abq.js");
    const root = tempDir("abq-pack-run-");
    mkdirSync(join(root, "work"));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: root, ABQ_HOME: join(root, "bus"), ABQ_AGENT: "pack/test" };
    delete env["ABQ_URL"];
    const opts = { env, cwd: join(root, "work") };

    const version = await runNode([cli, "--version"], opts);
    const pkg = JSON.parse(readFileSync(join(packed.dir, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    // `abq handlers` finds the packed handlers from the installed CLI, wherever the package lives.
    const handlers = await runNode([cli, "handlers", "--path"], opts);
    expect(handlers.code, handlers.stderr).toBe(0);
    expect(realpathSync(handlers.stdout.trim())).toBe(realpathSync(join(packed.dir, "handlers")));
    const listed = await runNode([cli, "handlers"], opts);
    expect(listed.stdout).toMatch(/^ {2}echo\.sh +Echo handler/m);

    expect((await runNode([cli, "channel", "create", "jobs"], opts)).code).toBe(0);
    const watcher = startNode([cli, "watch", "jobs", "--handler", join(packed.dir, "handlers", "echo.sh")], opts);
    try {
      const ask = await runNode([cli, "ask", "jobs", "command", "ping from the package", "--timeout", "20"], opts);
      expect(ask.code, ask.stderr).toBe(0);
      expect(ask.stdout).toBe("ping from the package\n");
    } finally {
      watcher.child.kill("SIGTERM");
      await watcher.done;
    }
  });
});
