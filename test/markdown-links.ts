/**
 * Relative links in markdown and whether they resolve: shared by the docs test (the source tree) and the
 * pack test (the unpacked tarball). Anchors follow GitHub's heading slugs.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

/** Markdown with fenced code blocks blanked out (line numbers kept) and inline code removed. */
export function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^]*?^\1\s*$/gm, (block) => block.replace(/[^\n]/g, ""))
    .replace(/`[^`\n]*`/g, (code) => code.replace(/[[\]()]/g, " "));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen; repeats get -1, -2. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const m of markdown.replace(/^(```|~~~)[^]*?^\1\s*$/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (m[1] ?? "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]*>/g, "");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Relative links (`[text](target)`) of a markdown file; web and mail links are left out. */
export function links(file: string): Link[] {
  const text = prose(readFileSync(file, "utf8"));
  const found: Link[] = [];
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1] ?? "";
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    found.push({ file, line: text.slice(0, m.index).split("\n").length, target });
  }
  return found;
}

/** Why a link does not resolve, or undefined when it does. `root` is the folder links must stay inside. */
export function broken(link: Link, root: string): string | undefined {
  const [path = "", anchor] = link.target.split("#");
  const target = path === "" ? link.file : resolve(dirname(link.file), decodeURIComponent(path));
  const inside = relative(root, target);
  if (inside.startsWith("..")) return "points outside the package";
  if (!existsSync(target)) return "no such file";
  if (anchor === undefined || anchor === "") return undefined;
  if (statSync(target).isDirectory() || !target.endsWith(".md")) return "an anchor into something that is not markdown";
  return anchors(readFileSync(target, "utf8")).has(anchor)
    ? undefined
    : `no heading #${anchor} in ${relative(root, target)}`;
}
