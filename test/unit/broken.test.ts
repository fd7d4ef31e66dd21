import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertGolden, cli, repoRoot, STACK_FRAME } from '../helpers.ts';

// Each test/broken/NAME.yaml is a design with mistakes; NAME.expected is exactly what
// `webstack check` must say about it.

const corpus = readdirSync(`${repoRoot}test/broken`).filter((f) => f.endsWith('.yaml'));

describe('broken designs get every error at once, located, with a way out', () => {
  it('has a corpus to check', () => assert.ok(corpus.length >= 10));

  for (const file of corpus) {
    it(`${file} exits 2 with its expected messages and no stack trace`, async () => {
      const result = await cli('check', `test/broken/${file}`);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.doesNotMatch(result.stderr, STACK_FRAME);
      assertGolden(`broken/${file.replace(/\.yaml$/, '.expected')}`, result.stderr);
    });
  }

  it('locates every problem of a YAML design at file:line:column', async () => {
    for (const file of corpus.filter((f) => !/empty|only-comment/.test(f))) {
      const { stderr } = await cli('check', `test/broken/${file}`);
      for (const line of stderr.split('\n').slice(1).filter(Boolean)) assert.match(line, /^ {2}test\/broken\/[\w-]+\.yaml:\d+:\d+: /, `${file}: ${line}`);
    }
  });
});
