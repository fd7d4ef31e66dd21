import type { Role } from '../design/vocabulary.ts';

// A capability as a monotone boolean expression over "host h is up (in role r)".
// The role is kept so that the analysis can say which of a host's roles matters;
// for probabilities a host's roles fail together.
// Expressions are DAGs: the same sub-expression (everything behind one web server, say) is one
// object wherever it appears, so every walk below visits each node once, and no walk expands
// the DAG into the tree it stands for (which grows as the product of the tiers' sizes).

export type Expr =
  | { readonly kind: 'const'; readonly value: boolean }
  | { readonly kind: 'up'; readonly host: string; readonly role: Role }
  | { readonly kind: 'and' | 'or'; readonly items: readonly Expr[] }
  /** At least k of the items hold: a cluster that needs a majority of its members. */
  | { readonly kind: 'atLeast'; readonly k: number; readonly items: readonly Expr[] };

export const TRUE: Expr = { kind: 'const', value: true };
export const FALSE: Expr = { kind: 'const', value: false };

export const up = (host: string, role: Role): Expr => ({ kind: 'up', host, role });

function combine(kind: 'and' | 'or', items: readonly Expr[]): Expr {
  const absorbing = kind === 'or'; // true absorbs an or, false absorbs an and
  const flat: Expr[] = [];
  const seen = new Set<Expr | string>();
  for (const item of items) {
    if (item.kind === 'const') {
      if (item.value === absorbing) return item;
      continue;
    }
    for (const part of item.kind === kind ? item.items : [item]) {
      // The same object, or the same host in the same role, is one operand.
      const key = part.kind === 'up' ? `${part.host}\u0000${part.role}` : part;
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

/** At least k of the items: or for 1, and for all of them. */
export function atLeast(k: number, items: readonly Expr[]): Expr {
  // A constant item counts, or does not, for good.
  const known = items.filter((i) => i.kind === 'const' && i.value).length;
  if (items.some((i) => i.kind === 'const')) return atLeast(k - known, items.filter((i) => i.kind !== 'const'));
  if (k <= 0) return TRUE;
  if (k > items.length) return FALSE;
  if (k === 1) return or(...items);
  if (k === items.length) return and(...items);
  return { kind: 'atLeast', k, items: [...items] };
}

/** The smallest majority of n members. */
export const majority = (n: number): number => Math.floor(n / 2) + 1;

export function evaluate(e: Expr, isUp: (host: string, role: Role) => boolean): boolean {
  const memo = new Map<Expr, boolean>();
  const go = (x: Expr): boolean => {
    if (x.kind === 'const') return x.value;
    if (x.kind === 'up') return isUp(x.host, x.role);
    const known = memo.get(x);
    if (known !== undefined) return known;
    const value = x.kind === 'atLeast' ? x.items.filter(go).length >= x.k : x.kind === 'and' ? x.items.every(go) : x.items.some(go);
    memo.set(x, value);
    return value;
  };
  return go(e);
}

/** Every host in e, breadth first: the entry's hosts, then the next tier, and so on. */
export function hostsIn(e: Expr, into = new Set<string>()): Set<string> {
  const seen = new Set<Expr>([e]);
  const queue: Expr[] = [e];
  for (let i = 0; i < queue.length; i++) {
    const x = queue[i]!;
    if (x.kind === 'up') into.add(x.host);
    else if (x.kind !== 'const') {
      for (const item of x.items) {
        if (!seen.has(item)) {
          seen.add(item);
          queue.push(item);
        }
      }
    }
  }
  return into;
}

/**
 * The exact probability that e holds when each host is up independently with its own
 * availability. e becomes a reduced ordered binary decision diagram over the hosts (a host's
 * roles are one variable: they fail together), its nodes hash-consed, then each node's
 * probability is p·P(high) + (1−p)·P(low), once. This is Shannon expansion with every
 * sub-problem shared, so it stays exact; the hosts are ordered tier by tier (breadth first from
 * the entry), which keeps the diagram of a tiered design about as large as the design.
 */
export function probability(e: Expr, availability: (host: string) => number): number {
  const order = [...hostsIn(e)];
  const bdd = new Bdd(order.length);
  const index = new Map(order.map((h, i) => [h, i]));
  const built = new Map<Expr, number>();
  const build = (x: Expr): number => {
    if (x.kind === 'const') return x.value ? ONE : ZERO;
    if (x.kind === 'up') return bdd.node(index.get(x.host)!, ZERO, ONE);
    const known = built.get(x);
    if (known !== undefined) return known;
    let result: number;
    if (x.kind === 'atLeast') {
      result = bdd.threshold(x.k, x.items.map(build));
    } else {
      result = x.kind === 'and' ? ONE : ZERO;
      for (const item of x.items) result = bdd.apply(x.kind, result, build(item));
    }
    built.set(x, result);
    return result;
  };
  const root = build(e);
  const p = order.map(availability);
  const memo = new Map<number, number>([
    [ZERO, 0],
    [ONE, 1],
  ]);
  const prob = (n: number): number => {
    const known = memo.get(n);
    if (known !== undefined) return known;
    const v = bdd.variable[n]!;
    const value = p[v]! * prob(bdd.high[n]!) + (1 - p[v]!) * prob(bdd.low[n]!);
    memo.set(n, value);
    return value;
  };
  return prob(root);
}

const ZERO = 0;
const ONE = 1;

/** A reduced ordered BDD: nodes are indices; 0 and 1 are the terminals. */
class Bdd {
  readonly variable: number[];
  readonly low: number[] = [ZERO, ONE];
  readonly high: number[] = [ZERO, ONE];
  private readonly unique = new Map<string, number>();
  private readonly computed = { and: new Map<string, number>(), or: new Map<string, number>() };

  constructor(variables: number) {
    // Terminals sort after every variable.
    this.variable = [variables, variables];
  }

  node(variable: number, low: number, high: number): number {
    if (low === high) return low;
    const key = `${variable},${low},${high}`;
    const known = this.unique.get(key);
    if (known !== undefined) return known;
    const id = this.variable.length;
    this.variable.push(variable);
    this.low.push(low);
    this.high.push(high);
    this.unique.set(key, id);
    return id;
  }

  /** At least k of the nodes: (first and k−1 of the rest) or k of the rest, each (index, k) once. */
  threshold(k: number, nodes: readonly number[]): number {
    const memo = new Map<string, number>();
    const go = (i: number, need: number): number => {
      if (need <= 0) return ONE;
      if (nodes.length - i < need) return ZERO;
      const key = `${i},${need}`;
      const known = memo.get(key);
      if (known !== undefined) return known;
      const value = this.apply('or', this.apply('and', nodes[i]!, go(i + 1, need - 1)), go(i + 1, need));
      memo.set(key, value);
      return value;
    };
    return go(0, k);
  }

  apply(op: 'and' | 'or', a: number, b: number): number {
    if (op === 'and') {
      if (a === ZERO || b === ZERO) return ZERO;
      if (a === ONE) return b;
      if (b === ONE || a === b) return a;
    } else {
      if (a === ONE || b === ONE) return ONE;
      if (a === ZERO) return b;
      if (b === ZERO || a === b) return a;
    }
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    const memo = this.computed[op];
    const known = memo.get(key);
    if (known !== undefined) return known;
    const va = this.variable[a]!;
    const vb = this.variable[b]!;
    const v = Math.min(va, vb);
    const [aLow, aHigh] = va === v ? [this.low[a]!, this.high[a]!] : [a, a];
    const [bLow, bHigh] = vb === v ? [this.low[b]!, this.high[b]!] : [b, b];
    const result = this.node(v, this.apply(op, aLow, bLow), this.apply(op, aHigh, bHigh));
    memo.set(key, result);
    return result;
  }
}
