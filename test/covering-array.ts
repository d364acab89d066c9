/*
 * A pairwise covering array of on/off options: sets of flipped options such that, for every two options a and b,
 * some set flips both, some flips a and not b, some flips b and not a (and the empty set, the defaults, flips
 * neither). With k options this takes about log2(k) sets instead of k (10 for 83 options, the defaults included).
 */

/** n choose r. */
function choose(n: number, r: number): number {
  let result = 1;
  for (let i = 1; i <= r; i++) {
    result = (result * (n - r + i)) / i;
  }
  return result;
}

/** Every r-element subset of 0..n-1, in lexicographic order. */
function combinations(n: number, r: number): number[][] {
  const all: number[][] = [];
  const walk = (start: number, picked: number[]) => {
    if (picked.length === r) {
      all.push(picked);
      return;
    }
    for (let i = start; i <= n - (r - picked.length); i++) {
      walk(i + 1, [...picked, i]);
    }
  };
  walk(0, []);
  return all;
}

/**
 * The sets of a covering array of the options, the empty set (every default) not included.
 *
 * Each option gets its own column: a distinct set of w rows out of m, with 2w > m. Two such columns always share
 * a row (w + w > m: both flipped), and neither holds the other (same size, distinct: one flipped without the
 * other). The columns are spread evenly over the possible ones, so that the rows flip about as many options each.
 * A row that flips both options of an exclusive pair keeps the first only; the pairs that this leaves uncovered get
 * rows of their own (`completeCoverage`).
 */
export function coveringSets(options: readonly string[], exclusive: ReadonlyArray<readonly [string, string]> = []): string[][] {
  let m = 3;
  while (choose(m, Math.ceil((m + 1) / 2)) < options.length) {
    m += 2;
  }
  const w = Math.ceil((m + 1) / 2);
  const columns = combinations(m, w);
  const rows: string[][] = Array.from({ length: m }, () => []);
  options.forEach((option, i) => {
    for (const row of columns[Math.floor((i * columns.length) / options.length)]) {
      rows[row].push(option);
    }
  });
  const repaired = rows.map((row) => row.filter((option) => !exclusive.some(([first, second]) => second === option && row.includes(first))));
  return completeCoverage(options, repaired, exclusive);
}

/** Every pair combination (both, first only, second only) that no set covers, exclusive pairs' "both" excepted. */
export function uncoveredPairs(options: readonly string[], sets: readonly string[][], exclusive: ReadonlyArray<readonly [string, string]> = []):
Array<{ readonly a: string; readonly b: string; readonly flipA: boolean; readonly flipB: boolean }> {
  const isExclusive = (a: string, b: string) => exclusive.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  const flips = sets.map((set) => new Set(set));
  const missing: Array<{ a: string; b: string; flipA: boolean; flipB: boolean }> = [];
  options.forEach((a, i) => options.slice(i + 1).forEach((b) => {
    for (const [flipA, flipB] of [[true, true], [true, false], [false, true]] as const) {
      if (flipA && flipB && isExclusive(a, b)) {
        continue;
      }
      if (!flips.some((set) => set.has(a) === flipA && set.has(b) === flipB)) {
        missing.push({ a, b, flipA, flipB });
      }
    }
  }));
  return missing;
}

/** The sets, with sets added (greedily, each covering as many uncovered pair combinations as it can) until none is left. */
export function completeCoverage(options: readonly string[], sets: string[][], exclusive: ReadonlyArray<readonly [string, string]> = []): string[][] {
  const all = [...sets];
  for (let missing = uncoveredPairs(options, all, exclusive); missing.length > 0; missing = uncoveredPairs(options, all, exclusive)) {
    const chosen = new Map<string, boolean>();
    const allows = (option: string, flip: boolean) => (chosen.get(option) ?? flip) === flip &&
      (!flip || !exclusive.some(([x, y]) => (x === option && chosen.get(y)) || (y === option && chosen.get(x))));
    for (const { a, b, flipA, flipB } of missing) {
      if (allows(a, flipA) && allows(b, flipB) && !(flipA && flipB && exclusive.some(([x, y]) => (x === a && y === b) || (x === b && y === a)))) {
        chosen.set(a, flipA);
        chosen.set(b, flipB);
      }
    }
    all.push(options.filter((option) => chosen.get(option)));
  }
  return all;
}

/**
 * A smallest subset of the items (each item of it needed) for which `fails` still holds, given that it holds for all
 * of them: the options of a failing set that cause the failure. Delta debugging (Zeller): drop ever smaller chunks
 * while the rest still fails.
 */
export function narrowDown<T>(items: readonly T[], fails: (subset: T[]) => boolean): T[] {
  let current = [...items];
  let chunks = 2;
  while (current.length >= 2) {
    const size = Math.ceil(current.length / chunks);
    let reduced = false;
    for (let start = 0; start < current.length; start += size) {
      const rest = [...current.slice(0, start), ...current.slice(start + size)];
      if (rest.length > 0 && fails(rest)) {
        current = rest;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size === 1) {
        break;
      }
      chunks = Math.min(current.length, chunks * 2);
    }
  }
  return current;
}
