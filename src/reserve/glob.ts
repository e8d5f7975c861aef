/**
 * Globs for reservations: `*` and `?` within one path segment, `**` as a whole segment for any number of
 * segments, `[abc]` / `[!abc]` classes and `{a,b}` alternatives. A glob also covers everything under what
 * it names, so `src/api` reserves the folder's files like `src/api/**` does.
 *
 * Two globs overlap when some path matches both. That is decided exactly for `*`, `?`, `**` and literals
 * (a walk over pairs of positions in both patterns); a class counts as any character there, so the answer
 * errs towards "overlaps", the safe side for a reservation.
 */
import { AbqError } from "../protocol/errors.ts";

type Token = { lit: string } | { one: true } | { star: true } | { cls: RegExp };

/** A glob as written, checked: relative, no `..` segment, no NUL, not empty, at most 500 characters. */
export function checkGlob(glob: string): string {
  const g = glob
    .replace(/^(\.\/)+/, "")
    .replace(/\/{2,}/g, "/")
    .replace(/\/$/, "");
  const bad =
    g === "" || g.length > 500 || g.includes("\0") || g.startsWith("/") || g.split("/").some((seg) => seg === "..");
  if (bad) {
    const shown = JSON.stringify(glob.slice(0, 80));
    throw new AbqError(
      "E_USAGE",
      `invalid glob ${shown}: give a path pattern relative to the repository, without '..'`,
    );
  }
  expandBraces(g); // refused now, not when someone else's check meets it
  return g;
}

/** More alternatives than any sane glob spells out: `{a,b}` repeated 11 times is 2 048. */
const MAX_ALTERNATIVES = 1024;

/** `{a,b}` alternatives spelled out (nested ones too), each with `/**` appended unless it ends with it. */
function expand(glob: string): string[] {
  const out = expandBraces(glob);
  return out.map((g) => (g.endsWith("/**") || g === "**" ? g : `${g}/**`));
}

function expandBraces(glob: string): string[] {
  const open = glob.indexOf("{");
  if (open < 0) return [glob];
  let depth = 0;
  const parts: string[] = [];
  let start = open + 1;
  for (let i = open; i < glob.length; i++) {
    if (glob[i] === "{") depth++;
    else if (glob[i] === "}" && --depth === 0) {
      parts.push(glob.slice(start, i));
      const out = parts.flatMap((p) => expandBraces(glob.slice(0, open) + p + glob.slice(i + 1)));
      if (out.length > MAX_ALTERNATIVES) throw badGlob(glob, `more than ${MAX_ALTERNATIVES} alternatives`);
      return out;
    } else if (glob[i] === "," && depth === 1) {
      parts.push(glob.slice(start, i));
      start = i + 1;
    }
  }
  throw badGlob(glob, "a '{' is never closed");
}

function badGlob(glob: string, why: string): AbqError {
  return new AbqError("E_USAGE", `invalid glob ${JSON.stringify(glob)}: ${why}`);
}

function tokens(segment: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") {
      if (!("star" in (out.at(-1) ?? {}))) out.push({ star: true });
    } else if (c === "?") out.push({ one: true });
    else if (c === "\\" && i + 1 < segment.length) out.push({ lit: segment[++i]! });
    else if (c === "[" && segment.indexOf("]", i + 2) > 0) {
      const end = segment.indexOf("]", i + 2);
      const body = segment
        .slice(i + 1, end)
        .replace(/^!/, "^")
        .replace(/[\\\]]/g, "\\$&");
      out.push({ cls: new RegExp(`^[${body}]$`) });
      i = end;
    } else out.push({ lit: c });
  }
  return out;
}

/** Can one item match both `a[i]` and `b[j]`? Plus which items are stars. Then: do the sequences intersect? */
function intersect<T>(a: T[], b: T[], isStar: (t: T) => boolean, compat: (x: T, y: T) => boolean): boolean {
  const seen = new Set<number>();
  const stack: [number, number][] = [[0, 0]];
  const width = b.length + 1;
  while (stack.length > 0) {
    const [i, j] = stack.pop()!;
    if (seen.has(i * width + j)) continue;
    seen.add(i * width + j);
    if (i === a.length && j === b.length) return true;
    const sa = i < a.length && isStar(a[i]!);
    const sb = j < b.length && isStar(b[j]!);
    if (sa) stack.push([i + 1, j]);
    if (sb) stack.push([i, j + 1]);
    if (sa && j < b.length && !sb) stack.push([i, j + 1]); // the star takes what b[j] matches
    if (sb && i < a.length && !sa) stack.push([i + 1, j]);
    if (i < a.length && j < b.length && !sa && !sb && compat(a[i]!, b[j]!)) stack.push([i + 1, j + 1]);
  }
  return false;
}

function charsCompatible(x: Token, y: Token): boolean {
  if ("lit" in x && "lit" in y) return x.lit === y.lit;
  if ("lit" in x && "cls" in y) return y.cls.test(x.lit);
  if ("cls" in x && "lit" in y) return x.cls.test(y.lit);
  return true; // ?, or two classes: assume some character fits both
}

function segmentsOverlap(x: string, y: string): boolean {
  if (x === "**" || y === "**") return true;
  return intersect(tokens(x), tokens(y), (t) => "star" in t, charsCompatible);
}

function expandedOverlap(a: string, b: string): boolean {
  return intersect(a.split("/"), b.split("/"), (s) => s === "**", segmentsOverlap);
}

/** Is there a path both globs cover? */
export function globsOverlap(a: string, b: string): boolean {
  return expand(a).some((x) => expand(b).some((y) => expandedOverlap(x, y)));
}

/** Does `glob` cover `path` (relative, `/`-separated)? A literal path is a glob matching only itself. */
export function globMatches(glob: string, path: string): boolean {
  const literal = path.replace(/[*?[\]{}\\]/g, "\\$&");
  return expand(glob).some((x) => intersect(x.split("/"), literal.split("/"), (s) => s === "**", segmentsOverlap));
}
