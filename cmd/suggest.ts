// "Did you mean …?": the candidates closest to a mistyped word (commands, flags, -X keys), by
// Damerau-Levenshtein distance (a swap of two neighbours counts once, as in `tpoics`), kept only
// when at least 60% of the word survives — commander's own rule for commands and flags, so every
// suggestion the CLI makes reads alike.

/** Edit distance with insertions, deletions, substitutions and adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidates (ties all kept, sorted), or [] when none is close enough. */
export function closest(word: string, candidates: readonly string[]): string[] {
  let best = Number.POSITIVE_INFINITY;
  let found: string[] = [];
  for (const c of new Set(candidates)) {
    if (c.length <= 1) continue;
    const distance = editDistance(word, c);
    const length = Math.max(word.length, c.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      found = [c];
    } else if (distance === best) found.push(c);
  }
  return found.sort();
}

/** " (did you mean X?)", " (did you mean one of X, Y?)", or "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const found = closest(word, candidates);
  if (found.length === 0) return "";
  return found.length === 1 ? ` (did you mean ${found[0]}?)` : ` (did you mean one of ${found.join(", ")}?)`;
}
