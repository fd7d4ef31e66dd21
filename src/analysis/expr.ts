import type { Role } from '../design/vocabulary.ts';

// A capability as a monotone boolean expression over "host h is up (in role r)".
// The role is kept so that the analysis can say which of a host's roles matters;
// for probabilities a host's roles fail together.

export type Expr =
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'up'; readonly host: string; readonly role: Role }
  | { readonly kind: 'and' | 'or'; readonly items: readonly Expr[] };

export const TRUE: Expr = { kind: 'const', value: true };
export const FALSE: Expr = { kind: 'const', value: false };

export const up = (host: string, role: Role): Expr => ({ kind: 'up', host, role });

function combine(kind: 'and' | 'or', items: readonly Expr[]): Expr {
  const absorbing = kind === 'or'; // true absorbs an or, false absorbs an and
  const flat: Expr[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (item.kind === 'const') {
      if (item.value === absorbing) return item;
      continue;
    }
    for (const part of item.kind === kind ? item.items : [item]) {
      const key = JSON.stringify(part);
      if (!seen.has(key)) {
        seen.add(key);
        flat.push(part);
      }
    }
  }
  if (flat.length === 0) return { kind: 'const', value: !absorbing };
  if (flat.length === 1) return flat[0]!;
  return { kind, items: flat };
}

export const and = (...items: Expr[]): Expr => combine('and', items);
export const or = (...items: Expr[]): Expr => combine('or', items);

export function evaluate(e: Expr, isUp: (host: string, role: Role) => boolean): boolean {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'up':
      return isUp(e.host, e.role);
    case 'and':
      return e.items.every((i) => evaluate(i, isUp));
    case 'or':
      return e.items.some((i) => evaluate(i, isUp));
  }
}

export function hostsIn(e: Expr, into = new Set<string>()): Set<string> {
  if (e.kind === 'up') into.add(e.host);
  else if (e.kind !== 'const') for (const i of e.items) hostsIn(i, into);
  return into;
}

/** e with every `up` of `host` replaced by `value`, simplified. */
function assign(e: Expr, host: string, value: boolean): Expr {
  switch (e.kind) {
    case 'const':
      return e;
    case 'up':
      return e.host === host ? { kind: 'const', value } : e;
    default:
      return combine(e.kind, e.items.map((i) => assign(i, host, value)));
  }
}

/**
 * The exact probability that e holds when each host is up independently with its
 * own availability: Shannon expansion on one host at a time, memoised, so a host
 * that appears in many branches (a server with three roles) is counted once.
 */
export function probability(e: Expr, availability: (host: string) => number): number {
  const memo = new Map<string, number>();
  const go = (x: Expr): number => {
    if (x.kind === 'const') return x.value ? 1 : 0;
    const key = JSON.stringify(x);
    const known = memo.get(key);
    if (known !== undefined) return known;
    const pivot = hostsIn(x).values().next().value as string;
    const p = availability(pivot);
    const result = p * go(assign(x, pivot, true)) + (1 - p) * go(assign(x, pivot, false));
    memo.set(key, result);
    return result;
  };
  return go(e);
}
