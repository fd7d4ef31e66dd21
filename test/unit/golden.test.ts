import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check } from '../../src/analysis/check.ts';
import { checkJson, formatCheck } from '../../src/analysis/format.ts';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { loadDesign } from '../../src/design/load.ts';
import { renderMermaid } from '../../src/diagram/mermaid.ts';
import { diagramModel } from '../../src/diagram/model.ts';
import { renderSvg } from '../../src/diagram/svg.ts';
import { assertGolden } from '../helpers.ts';

describe('every blueprint renders as its golden files say', () => {
  for (const name of BLUEPRINTS) {
    it(`${name}: check, check --json, svg and mermaid match test/golden/${name}/`, async () => {
      const { stack } = await loadDesign(name);
      const report = check(stack);
      assertGolden(`golden/${name}/check.txt`, formatCheck(stack, report));
      assertGolden(`golden/${name}/check.json`, checkJson(report));
      const model = diagramModel(stack);
      assertGolden(`golden/${name}/diagram.mmd`, renderMermaid(model));
      assertGolden(`golden/${name}/diagram.svg`, await renderSvg(model));
    });
  }

  it('renders the same svg twice in a row, so golden files are stable', async () => {
    const model = diagramModel((await loadDesign('ha')).stack);
    assert.equal(await renderSvg(model), await renderSvg(model));
  });
});
