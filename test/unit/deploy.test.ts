import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import { planLab } from '../../src/plan/plan.ts';
import { drainsNothing, rollSteps, type Release, type Rollout } from '../../src/plan/rollout.ts';
import { cli, FIXED, STACK_FRAME } from '../helpers.ts';

// `deploy`'s pure parts: which hosts it takes in turn and where each is drained, and what a
// release or a drain changes in the rendered configs. The roll itself is an integration test (ha).

const planOf = async (blueprint: string, rollout?: Rollout) => planLab((await loadDesign(blueprint)).stack, { ...FIXED, rollout });
const release: Release = { version: '2', directory: null, command: null, id: 'deploy-1', readinessTimeoutMs: 5_000 };

describe('the order of a roll, and where each host is drained', () => {
  test('ha: each app server is taken out of every nginx upstream, since every web server has the other one too', async () => {
    const steps = rollSteps((await loadDesign('ha')).stack, 'app');
    assert.deepEqual(steps, [
      { host: 'app-01', daemon: 'app', drain: { haproxy: [], nginx: ['web-01', 'web-02'] } },
      { host: 'app-02', daemon: 'app', drain: { haproxy: [], nginx: ['web-01', 'web-02'] } },
    ]);
  });

  test('ha: each web server is drained at both load balancers', async () => {
    const steps = rollSteps((await loadDesign('ha')).stack, 'web');
    assert.deepEqual(steps[0], { host: 'web-01', daemon: 'nginx', drain: { haproxy: [{ lb: 'lb-01', server: 'web-01' }, { lb: 'lb-02', server: 'web-01' }], nginx: [] } });
    assert.equal(steps.length, 2);
  });

  test('distributed: an app server that is its own nginx\'s only upstream is drained by draining that host at the load balancer', async () => {
    const steps = rollSteps((await loadDesign('distributed')).stack, 'app');
    assert.deepEqual(
      steps.map((s) => [s.host, s.drain]),
      [
        ['server-01', { haproxy: [{ lb: 'lb-01', server: 'server-01' }], nginx: [] }],
        ['server-02', { haproxy: [{ lb: 'lb-01', server: 'server-02' }], nginx: [] }],
      ],
    );
  });

  test('simple: the one server has nothing in front of it to drain it, which the deploy says', async () => {
    const steps = rollSteps((await loadDesign('simple')).stack, 'app');
    assert.equal(steps.length, 1);
    assert.ok(drainsNothing(steps[0]!));
  });
});

describe('what a deploy changes in the rendered stack', () => {
  test('a drained app server is marked down in every nginx upstream, and nothing else changes', async () => {
    const before = await planOf('ha');
    const after = await planOf('ha', { releases: {}, drained: ['app-01'], restarts: {} });
    const nginx = after.daemons.find((d) => d.host === 'web-02' && d.daemon === 'nginx')!.files[0]!.content;
    assert.match(nginx, /server 10\.71\.128\.\d+:8000 down; # app-01: drained by deploy while it restarts/);
    assert.equal((nginx.match(/ down;/g) ?? []).length, 1);
    const changed = after.daemons.filter((d, i) => JSON.stringify(d) !== JSON.stringify(before.daemons[i])).map((d) => `${d.host}/${d.daemon}`);
    assert.deepEqual(changed, ['web-01/nginx', 'web-02/nginx']);
  });

  test('a release reaches only its host: its version in the app config, its id and version in the environment, its own health deadline', async () => {
    const plan = await planOf('ha', { releases: { 'app-02': release }, drained: [], restarts: {} });
    const [one, two] = ['app-01', 'app-02'].map((h) => plan.daemons.find((d) => d.host === h && d.daemon === 'app')!);
    assert.equal(JSON.parse(two!.files[0]!.content).version, '2');
    assert.deepEqual(two!.env, { WEBSTACK_APP_VERSION: '2', WEBSTACK_RELEASE: 'deploy-1' });
    assert.equal(two!.readinessTimeoutMs, 5_000);
    assert.equal(JSON.parse(one!.files[0]!.content).version, undefined);
    assert.equal(one!.env, undefined);
  });

  test("a release with its own command runs it with the app's config file, from its directory", async () => {
    const plan = await planOf('ha', { releases: { 'app-01': { ...release, directory: '/srv/foobar-v2', command: ['/usr/bin/node', '/srv/foobar-v2/dist/app/main.js'] } }, drained: [], restarts: {} });
    const app = plan.daemons.find((d) => d.host === 'app-01' && d.daemon === 'app')!;
    assert.deepEqual(app.command, ['/usr/bin/node', '/srv/foobar-v2/dist/app/main.js', '/var/lib/webstack/ha/config/app-01/app/app.json']);
    assert.equal(app.cwd, '/srv/foobar-v2');
  });

  test('a restart asked for by deploy changes the daemon\'s environment, so the supervisor restarts it', async () => {
    const plan = await planOf('ha', { releases: {}, drained: [], restarts: { 'web-01/nginx': 'deploy-7' } });
    assert.deepEqual(plan.daemons.find((d) => d.host === 'web-01' && d.daemon === 'nginx')!.env, { WEBSTACK_RELEASE: 'deploy-7' });
    assert.equal(plan.daemons.find((d) => d.host === 'web-02' && d.daemon === 'nginx')!.env, undefined);
  });
});

describe('webstack deploy, on bad input', () => {
  for (const [args, said] of [
    [['--tier', 'db'], /--tier 'db' is not a tier deploy rolls; use one of: app, web\./],
    [['--tier', 'web', '--version', '2'], /--app and --version are for the app tier/],
    [['--version', 'two words'], /--version 'two words': use letters, digits/],
    [['--health-timeout', 'soon'], /--health-timeout 'soon' is not a duration/],
    [['--drain-timeout', '0s'], /--drain-timeout '0s' is not a duration/],
  ] as const) {
    test(`refuses ${args.join(' ')} with exit 2, before looking for a stack`, async () => {
      const r = await cli('deploy', ...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, said);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    });
  }
});
