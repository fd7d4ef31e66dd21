import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { capabilityExpressions } from '../../src/analysis/capabilities.ts';
import { check, type CheckReport } from '../../src/analysis/check.ts';
import { evaluate } from '../../src/analysis/expr.ts';
import type { ResolvedStack } from '../../src/design/types.ts';
import { CAPABILITIES } from '../../src/design/vocabulary.ts';
import { formatCheck } from '../../src/analysis/format.ts';
import { blueprintFile, BLUEPRINTS } from '../../src/blueprints/index.ts';
import { resolveSource } from '../../src/design/load.ts';
import { DesignError } from '../../src/design/problems.ts';
import { renderMermaid } from '../../src/diagram/mermaid.ts';
import { diagramModel } from '../../src/diagram/model.ts';

// Valid designs, mutated at random: every outcome must be a result or a DesignError
// with located, non-empty messages, never a crash.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const blueprints = BLUEPRINTS.map((b) => parse(readFileSync(blueprintFile(b), 'utf8')) as Json);

/** Every path into a value, so a mutation can land anywhere. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

const junk = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e9, '', 'lb', 'web', 'db-primary', 'public', 'private', '10.0.0.0/8', '8.8.8.8', '203.0.113.999', 'server-01', 'lb-01', [], {}, ['lb'], { cidr: '10.1.0.0/24' }),
  fc.string({ maxLength: 12 }),
  fc.integer(),
);

const mutation = fc.record({
  blueprint: fc.nat(BLUEPRINTS.length - 1),
  edits: fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'delete', 'add-key', 'duplicate'), value: junk, key: fc.constantFrom('roles', 'networks', 'address', 'extra', 'lb-09', 'web-01', 'cidr', 'virtualIp', 'public', 'www') }), { minLength: 1, maxLength: 4 }),
});

function mutate(design: Json, edits: { at: number; kind: string; value: Json; key: string }[]): Json {
  const copy = structuredClone(design);
  for (const edit of edits) {
    const all = paths(copy).filter((p) => p.length > 0);
    const path = all[edit.at % all.length]!;
    let parent: any = copy;
    for (const segment of path.slice(0, -1)) parent = parent[segment];
    const last = path[path.length - 1]!;
    if (parent === null || typeof parent !== 'object') continue;
    if (edit.kind === 'replace') parent[last] = edit.value;
    else if (edit.kind === 'delete') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
    else if (edit.kind === 'add-key' && parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) parent[last][edit.key] = edit.value;
    else if (edit.kind === 'duplicate' && Array.isArray(parent)) parent.push(structuredClone(parent[Number(last)]));
  }
  return copy;
}

/**
 * What `check` promises of every design: a capability that fails with every host up is explained by a
 * finding, and every host that is a single point of failure also has a maintenance finding.
 */
function holdsInvariants(stack: ResolvedStack, report: CheckReport): void {
  const expressions = capabilityExpressions(stack);
  for (const c of CAPABILITIES) {
    if (evaluate(expressions[c], () => true)) continue;
    assert.ok(report.findings.some((f) => f.category === 'spof' && f.capability === c && f.hosts.length === 0), `'${c}' fails with every host up, and no finding says why`);
  }
  const maintained = new Set(report.findings.filter((f) => f.category === 'maintenance').flatMap((f) => f.hosts));
  for (const f of report.findings.filter((f) => f.category === 'spof')) {
    for (const host of f.hosts) assert.ok(maintained.has(host), `${host} is a single point of failure with no maintenance finding`);
  }
}

describe('every blueprint', () => {
  it("holds check's invariants", async () => {
    for (const name of BLUEPRINTS) {
      const { stack } = resolveSource({ ref: name, file: name, data: blueprints[BLUEPRINTS.indexOf(name)], locate: () => undefined });
      holdsInvariants(stack, check(stack));
    }
  });
});

describe('randomly mutated designs', () => {
  it('never crash: each gives a report, holding check\'s invariants, or a DesignError with a message per problem', () => {
    let rejected = 0;
    fc.assert(
      fc.property(mutation, ({ blueprint, edits }) => {
        const data = mutate(blueprints[blueprint]!, edits);
        try {
          const { stack } = resolveSource({ ref: 'mutant', file: 'mutant.yaml', data, locate: () => undefined });
          const report = check(stack);
          formatCheck(stack, report);
          renderMermaid(diagramModel(stack));
          for (const a of Object.values(report.availability)) assert.ok(a >= 0 && a <= 1);
          holdsInvariants(stack, report);
        } catch (error) {
          if (!(error instanceof DesignError)) throw error;
          rejected++;
          assert.ok(error.problems.length > 0);
          for (const p of error.problems) assert.ok(p.message.length > 5 && !/undefined|\[object Object\]/.test(p.message), p.message);
        }
      }),
      { numRuns: 600, seed: Number(process.env.FC_SEED ?? 20261122) },
    );
    assert.ok(rejected > 50, `the mutations should break most designs, broke ${rejected}`);
  });
});
