import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { loadDesign } from '../../src/design/load.ts';
import { planLab } from '../../src/lab/plan.ts';
import { describeProbe } from '../../src/lab/probe.ts';
import { assertGolden, FIXED } from '../helpers.ts';

// Every daemon's config, rendered from every blueprint, against checked-in files
// (UPDATE_GOLDEN=1 npm run test:unit rewrites them). The machine-specific parts are fixed.


describe('rendered daemon configs', () => {
  for (const blueprint of BLUEPRINTS) {
    test(`${blueprint}: every file, command and probe matches its golden file`, async () => {
      const plan = planLab((await loadDesign(blueprint)).stack, FIXED);
      const summary: string[] = [`fingerprint ${plan.fingerprint}`, '', '# network', ...plan.network.map((s) => s.argv.join(' ')), '', '# daemons'];
      for (const d of plan.daemons) {
        summary.push(`${d.host}/${d.daemon} tier ${d.tier}: ${d.command.join(' ')}`, `  ready when: ${describeProbe(d.readiness)} within ${d.readinessTimeoutMs} ms`);
        if (d.init) summary.push(`  first start: ${d.init.command.join(' ')} (unless ${d.init.creates} exists)`);
        if (d.setup) summary.push(`  each time ready: ${d.setup.command.join(' ')} (within ${d.setup.timeoutMs} ms)`);
        for (const f of d.files) {
          summary.push(`  file ${f.path} (${f.mode.toString(8)}${f.owner ? `, ${f.owner}` : ''})`);
          assertGolden(`golden/${blueprint}/lab/${d.host}/${d.daemon}/${basename(f.path)}`, f.content);
        }
      }
      for (const u of plan.unrun) summary.push(`not run yet: role ${u.role} on ${u.host}`);
      for (const f of plan.resolvConfs) summary.push(`resolv.conf ${f.path}: ${f.content.trim().split('\n').at(-1)}`);
      assertGolden(`golden/${blueprint}/lab/plan.txt`, summary.join('\n') + '\n');
    });
  }

  test('the plan is the same for the same design, and changes with a secret', async () => {
    const design = (await loadDesign('simple')).stack;
    assert.equal(planLab(design, FIXED).fingerprint, planLab(design, FIXED).fingerprint);
    assert.notEqual(planLab(design, FIXED).fingerprint, planLab(design, { ...FIXED, secrets: { ...FIXED.secrets, dbPassword: 'other' } }).fingerprint);
  });

  test('the database password in init.sql is quoted as a SQL string', async () => {
    const plan = planLab((await loadDesign('simple')).stack, { ...FIXED, secrets: { ...FIXED.secrets, dbPassword: "it's\\" } });
    const init = plan.daemons.find((d) => d.daemon === 'mariadb')!.files.find((f) => f.path.endsWith('init.sql'))!;
    assert.match(init.content, /IDENTIFIED BY 'it''s\\\\';/);
    assert.equal(init.mode, 0o600);
  });
});
