import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { capabilityExpressions } from '../../src/analysis/capabilities.ts';
import { check } from '../../src/analysis/check.ts';
import { and, atLeast, evaluate, FALSE, hostsIn, majority, or, probability, TRUE, up, type Expr } from '../../src/analysis/expr.ts';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { loadDesign, resolveSource } from '../../src/design/load.ts';
import { CAPABILITIES } from '../../src/design/vocabulary.ts';
import { generatedDesign } from '../generated.ts';

const p = (value: number) => () => value;

describe('capability expressions', () => {
  it('simplifies constants away', () => {
    assert.deepEqual(and(TRUE, up('a', 'web')), up('a', 'web'));
    assert.deepEqual(or(FALSE, up('a', 'web')), up('a', 'web'));
    assert.deepEqual(and(FALSE, up('a', 'web')), FALSE);
    assert.deepEqual(or(), FALSE);
    assert.deepEqual(and(), TRUE);
  });

  it('computes series and parallel availability exactly', () => {
    assert.equal(probability(and(up('a', 'lb'), up('b', 'web')), p(0.9)).toFixed(6), '0.810000');
    assert.equal(probability(or(up('a', 'lb'), up('b', 'lb')), p(0.9)).toFixed(6), '0.990000');
  });

  it('counts a host that appears in two branches once', () => {
    // (a ∧ b) ∨ (a ∧ c) = a ∧ (b ∨ c): 0.5 × 0.75, not the 0.4375 of treating the two a's as independent.
    const e = or(and(up('a', 'web'), up('b', 'app')), and(up('a', 'app'), up('c', 'app')));
    assert.equal(probability(e, p(0.5)), 0.375);
  });

  it('k of n: a majority of three is two, exact in evaluation and probability', () => {
    const members = ['a', 'b', 'c'].map((h) => up(h, 'db'));
    const quorum = atLeast(majority(3), members);
    assert.equal(majority(3), 2);
    assert.equal(majority(4), 3);
    assert.equal(evaluate(quorum, (h) => h !== 'a'), true, 'one member down: two of three remain');
    assert.equal(evaluate(quorum, (h) => h === 'a'), false, 'two members down: no majority');
    // 3p²(1−p) + p³, with p = 0.9: 0.972.
    assert.equal(probability(quorum, p(0.9)).toFixed(6), '0.972000');
    assert.deepEqual(atLeast(1, members), or(...members));
    assert.deepEqual(atLeast(3, members), and(...members));
    assert.deepEqual(atLeast(4, members), FALSE);
  });

  it('k of n over shared sub-expressions matches the sum over every combination of hosts', () => {
    // Each item shares host z: P = P(z) · P(at least 2 of x, y, w).
    const items = ['x', 'y', 'w'].map((h) => and(up(h, 'db'), up('z', 'app')));
    const availability = new Map([['x', 0.8], ['y', 0.7], ['w', 0.6], ['z', 0.9]]);
    const hosts = [...availability.keys()];
    let brute = 0;
    for (let mask = 0; mask < 1 << hosts.length; mask++) {
      const isUp = (h: string) => (mask & (1 << hosts.indexOf(h))) !== 0;
      const weight = hosts.reduce((w, h) => w * (isUp(h) ? availability.get(h)! : 1 - availability.get(h)!), 1);
      if (evaluate(atLeast(2, items), isUp)) brute += weight;
    }
    assert.equal(probability(atLeast(2, items), (h) => availability.get(h)!).toFixed(12), brute.toFixed(12));
  });

  it('evaluates with a host (or one of its roles) down', () => {
    const e = and(up('a', 'web'), up('a', 'app'));
    assert.equal(evaluate(e, () => true), true);
    assert.equal(evaluate(e, (_h, role) => role !== 'app'), false);
  });

  it('stays fast and exact on a wide design', () => {
    const hosts = Array.from({ length: 30 }, (_, i) => `h${i}`);
    const e = and(...Array.from({ length: 10 }, (_, t) => or(...hosts.slice(t * 3, t * 3 + 3).map((h) => up(h, 'web')))));
    assert.equal(probability(e, p(0.9)).toFixed(9), ((1 - 0.1 ** 3) ** 10).toFixed(9));
  });
});

/** The former algorithm, kept as the reference: Shannon expansion on the expression tree itself. */
function shannon(e: Expr, availability: (host: string) => number): number {
  const assign = (x: Expr, host: string, value: boolean): Expr =>
    x.kind === 'const' ? x
    : x.kind === 'up' ? (x.host === host ? (value ? TRUE : FALSE) : x)
    : x.kind === 'and' ? and(...x.items.map((i) => assign(i, host, value)))
    : x.kind === 'atLeast' ? atLeast(x.k, x.items.map((i) => assign(i, host, value)))
    : or(...x.items.map((i) => assign(i, host, value)));
  const go = (x: Expr): number => {
    if (x.kind === 'const') return x.value ? 1 : 0;
    const pivot = hostsIn(x).values().next().value as string;
    const p = availability(pivot);
    return p * go(assign(x, pivot, true)) + (1 - p) * go(assign(x, pivot, false));
  };
  return go(e);
}

describe('availability by decision diagram', () => {
  it('equals Shannon expansion to 1e-12 on every blueprint, with every host at its own availability', async () => {
    for (const blueprint of BLUEPRINTS) {
      const { stack } = await loadDesign(blueprint);
      const expressions = capabilityExpressions(stack);
      const availability = (h: string) => 0.9 + ((h.length * 7919 + h.charCodeAt(h.length - 1)) % 997) / 10_000;
      for (const c of CAPABILITIES) {
        const fast = probability(expressions[c], availability);
        const reference = shannon(expressions[c], availability);
        assert.ok(Math.abs(fast - reference) < 1e-12, `${blueprint} ${c}: ${fast} against ${reference}`);
      }
    }
  });

  it('equals Shannon expansion to 1e-12 on random expressions', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e', 'f'];
    const leaf = fc.constantFrom(...hosts).map((h) => up(h, 'web'));
    const { tree } = fc.letrec<{ tree: Expr }>((tie) => ({
      tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('tree'), { minLength: 1, maxLength: 4 }).map((items) => and(...items)), fc.array(tie('tree'), { minLength: 1, maxLength: 4 }).map((items) => or(...items))),
    }));
    fc.assert(
      fc.property(tree, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 6 }), (e, ps) => {
        const availability = (h: string) => ps[hosts.indexOf(h)]!;
        return Math.abs(probability(e, availability) - shannon(e, availability)) < 1e-12;
      }),
      { numRuns: 300 },
    );
  });

  it('is exact and quick on a design of a thousand hosts, where the tree would have a million leaves', () => {
    const { stack } = resolveSource({ ref: 'generated', file: 'generated', data: generatedDesign(1000), locate: () => undefined });
    const started = performance.now();
    const report = check(stack);
    // Two lbs, 498 web, 498 app, all at 99.9%: the tiers in series, each a parallel group.
    const parallel = (n: number) => 1 - 0.001 ** n;
    assert.ok(Math.abs(report.availability.read - Number((parallel(2) * parallel(498) * parallel(498) * parallel(2)).toFixed(9))) < 1e-9);
    assert.ok(performance.now() - started < 60_000, 'generous: the benchmark measures the time');
  });
});
