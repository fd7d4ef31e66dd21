import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, evaluate, FALSE, or, probability, TRUE, up } from '../../src/analysis/expr.ts';

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
