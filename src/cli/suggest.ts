/**
 * "Did you mean …?" for values the CLI checks itself (message types, response statuses, `ls` states,
 * schema kinds). Commander suggests command and option names on its own; this covers the values.
 */
import { AbqError } from "../protocol/errors.ts";

/** Edit distance with adjacent swaps counting as one edit (`comamnd` is one edit from `command`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    const prev = d[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The one candidate closest to `word`, if it is close enough to be a typo: at most a third of the word's
 * length in edits (at least one), and no tie with another candidate. Case is ignored.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase().slice(0, 64);
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist < bestDistance) [best, bestDistance, tie] = [c, dist, false];
    else if (dist === bestDistance && c !== best) tie = true;
  }
  return best !== undefined && bestDistance <= limit && !tie && best !== word ? best : undefined;
}

/**
 * A mistyped choice (`comand`, `procesing`) fails here with a one-line usage error (exit 2) that lists the
 * choices and names the one close candidate: `unknown type 'comand': use one of signal, command, eval,
 * status (did you mean command?)`. A value that is allowed, or too far from every candidate to guess,
 * passes on to the library, whose own error lists the choices. `choices` says them as the library does.
 */
export function suggestChoice(what: string, value: string, allowed: Iterable<string>, choices?: string): void {
  const words = [...allowed];
  if (words.includes(value)) return;
  const guess = closest(value, words);
  if (guess === undefined) return;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  throw new AbqError("E_USAGE", `unknown ${what} '${shown}': use ${choices ?? `one of ${words.join(", ")}`}`, {
    hint: `did you mean ${guess}?`,
  });
}
