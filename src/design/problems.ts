// A problem is one thing wrong with a design, found by the schema or by resolve().
// Problems are collected, never thrown one by one, so the user sees all of them at once.

export type Path = ReadonlyArray<string | number>;

export interface Problem {
  path: Path;
  message: string;
  /** Point at the key itself (e.g. an unknown key) rather than at its value. */
  at?: 'key' | 'value';
}

export interface Location {
  line: number;
  column: number;
}

export interface LocatedProblem extends Problem {
  file: string;
  location?: Location;
}

/** `hosts.web-01.roles[1]`: the path as a user would type it. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out || '(top level)';
}

export function formatProblem(p: LocatedProblem): string {
  const where = p.location ? `${p.file}:${p.location.line}:${p.location.column}` : p.file;
  return p.path.length ? `${where}: ${formatPath(p.path)}: ${p.message}` : `${where}: ${p.message}`;
}

/** Raised when a design cannot be used; carries every problem found. */
export class DesignError extends Error {
  readonly problems: readonly LocatedProblem[];
  constructor(
    readonly file: string,
    problems: readonly LocatedProblem[],
  ) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file}`);
    // In file order, so they can be fixed top to bottom.
    this.problems = [...problems].sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0));
    this.name = 'DesignError';
  }
}

/** Optimal string alignment distance: a swap of two neighbours ('wbe' → 'web') counts as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest valid choice, if one is close enough to be a likely typo. */
export function closest(value: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const choice of choices) {
    const d = editDistance(value.toLowerCase(), choice.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [choice, d];
  }
  const tolerance = Math.max(1, Math.floor(value.length / 3));
  if (best !== undefined && (bestDistance <= tolerance || best.startsWith(value) || value.startsWith(best))) return best;
  return undefined;
}

/** "unknown role 'lb2'; did you mean 'lb'? (valid: lb, web, ...)" */
export function unknownChoice(noun: string, value: string, choices: readonly string[]): string {
  const guess = closest(value, choices);
  const valid = choices.length ? ` (valid: ${choices.join(', ')})` : '';
  return `unknown ${noun} '${value}'${guess ? `; did you mean '${guess}'?` : ''}${valid}`;
}

/** A mistake in how webstack was called: printed as one sentence, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
