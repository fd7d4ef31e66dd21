import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostListeners, registerDaemon, requiredPackages, requiredPrograms } from '../../src/daemons/registry.ts';
import { listener, type Daemon, type DaemonSpec } from '../../src/daemons/types.ts';
import { loadDesign } from '../../src/design/load.ts';
import { down } from '../../src/lab/down.ts';
import { LabError } from '../../src/lab/errors.ts';
import { fail, heal } from '../../src/lab/faults.ts';
import { lastLines, LogFile } from '../../src/lab/logfile.ts';
import { checkPrograms } from '../../src/lab/preflight.ts';
import { RecordingTarget, type Answer } from '../../src/lab/recording-target.ts';
import { stackStatus, withObservations } from '../../src/lab/status.ts';
import { changeOf } from '../../src/lab/supervisor-types.ts';
import { up, type UpOptions } from '../../src/lab/up.ts';
import { planLab, startWaves } from '../../src/plan/plan.ts';
import { assertGolden, BLUEPRINTS_FOR_DRY_RUN, cli, FIXED } from '../helpers.ts';

// The runtime without root: `up`, `fail`, `heal`, `down` and the supervisor against the recording
// target, whose record of every step is pinned in golden files; the registry's reach; live changes.

function withHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'webstack-runtime-'));
  return fn(home).finally(() => rmSync(home, { recursive: true, force: true }));
}

function upOptions(home: string, target: RecordingTarget, name: string, extra: Partial<UpOptions> = {}): UpOptions {
  return { home, target, say: () => undefined, name, designRef: name, install: FIXED.install, lock: join(home, 'lock'), supervisorCommand: ['supervisor'], ...extra };
}

/** The record with the scratch home replaced, so golden files do not depend on it. */
function record(target: RecordingTarget, home: string): string {
  return target.steps.map((s) => s.replaceAll(home, '<home>')).join('\n') + '\n';
}

describe('the supervisor start order', () => {
  test("comes from each daemon's after: databases and DNS, then the apps, then nginx, then HAProxy", async () => {
    const plan = planLab((await loadDesign('distributed')).stack, FIXED);
    assert.deepEqual(
      plan.waves.map((w) => w.map((d) => `${d.host}/${d.daemon}`)),
      [['server-01/mariadb', 'server-02/mariadb', 'dns/dns'], ['server-01/app', 'server-02/app'], ['server-01/nginx', 'server-02/nginx'], ['lb-01/haproxy']],
    );
  });

  test('waits for nothing the stack does not run, and refuses daemons that wait for each other', () => {
    const spec = (daemon: string, after: string[]) => ({ daemon, after }) as unknown as DaemonSpec;
    assert.deepEqual(startWaves([spec('haproxy', ['nginx', 'app']), spec('app', ['mariadb'])]).map((w) => w.map((s) => s.daemon)), [['app'], ['haproxy']]);
    assert.throws(() => startWaves([spec('a', ['b']), spec('b', ['a'])]), /daemons wait for each other in a circle: a → b → a/);
  });
});

describe('a new daemon is one module and one registry line', () => {
  const fake: Daemon = {
    name: 'fake',
    title: 'a daemon of this test',
    programs: { 'fake-program-webstack-test': 'fake-package' },
    listens: (role) => (role === 'db-primary' ? [listener('fake', role, 7777, 'internal')] : []),
    runsOn: (host) => host.roles.includes('db-primary'),
    after: ['mariadb'],
    render: (context) => ({
      daemon: 'fake',
      host: context.host.name,
      namespace: context.host.namespace,
      after: ['mariadb'],
      command: ['fake-program-webstack-test', '--serve'],
      files: [{ path: join(context.paths.config, 'fake.conf'), content: 'listen 7777\n', mode: 0o644 }],
      dirs: [],
      copies: [],
      readiness: { kind: 'tcp', address: '127.0.0.1', port: 7777 },
      readinessTimeoutMs: 1_000,
      log: context.paths.log,
    }),
    observe: async (_spec, run) => ({ details: { answer: (await run(['fake-program-webstack-test', '--ask'], 1_000)).stdout }, summary: 'fine' }),
  };

  test('preflight, the install list, the port table, the plan, --dry-run and status all pick it up', async () => {
    const unregister = registerDaemon(fake);
    try {
      assert.equal(requiredPrograms()['fake-program-webstack-test'], 'fake-package');
      assert.throws(() => checkPrograms(), (e: LabError) => e.code === 'missing-programs' && /fake-program-webstack-test/.test(e.message) && /fake-package/.test(e.fix));
      assert.ok(requiredPackages().includes('fake-package'));
      assert.match((await cli('packages')).stdout, /^fake-package$/m);
      assert.ok(hostListeners(['web', 'app', 'db-primary'], { tls: false, monitored: false, alerting: false }).some((l) => l.daemon === 'fake' && l.port === 7777));

      const design = (await loadDesign('simple')).stack;
      const plan = planLab(design, FIXED);
      const spec = plan.daemons.find((d) => d.daemon === 'fake');
      assert.equal(spec?.host, 'server-01');
      assert.ok(plan.waves.findIndex((w) => w.includes(spec!)) > plan.waves.findIndex((w) => w.some((d) => d.daemon === 'mariadb')), 'after mariadb');

      const dry = await cli('up', 'simple', '--dry-run', '--name', 'fakedry');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /server-01: start \[pid \d+\] fake-program-webstack-test --serve/);

      await withHome(async (home) => {
        const target = new RecordingTarget({ answer: (_host, argv) => (argv[1] === '--ask' ? { stdout: '42' } : undefined) });
        await up(design, upOptions(home, target, 'fakes'));
        const status = await withObservations(stackStatus(home, 'fakes'), home, target);
        const view = status.hosts.find((h) => h.name === 'server-01')!.daemons.find((d) => d.name === 'fake')!;
        assert.equal(view.state, 'ready');
        assert.deepEqual(view.observed, { details: { answer: '42' }, summary: 'fine' });
        await down('fakes', { home, target, say: () => undefined, volumes: true });
        await target.settled();
      });
    } finally {
      unregister();
    }
    assert.ok(!requiredPackages().includes('fake-package'), 'and taken out again');
  });
});

describe('up, fail, heal and down of distributed, step by step', () => {
  test('every step, in order, matches the golden record', async () => {
    const design = (await loadDesign('distributed')).stack;
    await withHome(async (home) => {
      const target = new RecordingTarget();
      const said: string[] = [];
      await up(design, upOptions(home, target, 'rec', { say: (l) => said.push(l) }));
      assert.match(said.at(-1)!, /from the client: www\.foobar\.com is answered\., and GET http:\/\/www\.foobar\.com\/ answers 200/);
      assertGolden('golden/distributed/lab/steps-up.txt', record(target, home));

      target.steps.length = 0;
      await fail('rec', 'server-01', 'kill', { home, target, say: () => undefined });
      assertGolden('golden/distributed/lab/steps-fail.txt', record(target, home));
      assert.equal(stackStatus(home, 'rec').hosts.find((h) => h.name === 'server-01')!.daemons.every((d) => d.state === 'faulted'), true);

      target.steps.length = 0;
      await heal('rec', 'server-01', { home, target, say: () => undefined });
      assertGolden('golden/distributed/lab/steps-heal.txt', record(target, home));

      target.steps.length = 0;
      await down('rec', { home, target, say: () => undefined, volumes: false });
      await target.settled();
      assertGolden('golden/distributed/lab/steps-down.txt', record(target, home));
    });
  });

  test('restart stops every process of the host with SIGTERM, the supervisor leaves them stopped, and heal starts them again', async () => {
    const design = (await loadDesign('distributed')).stack;
    await withHome(async (home) => {
      const target = new RecordingTarget();
      await up(design, upOptions(home, target, 'rs'));
      target.steps.length = 0;
      const said: string[] = [];
      await fail('rs', 'server-02', 'restart', { home, target, say: (l) => said.push(l) });
      assert.match(said[0]!, /^server-02: stopped 3 processes cleanly \(mariadb, app, nginx\); `heal` starts them again$/);
      const signals = target.steps.filter((s) => s.startsWith('signal'));
      assert.equal(signals.length, 3);
      assert.ok(signals.every((s) => s.startsWith('signal SIGTERM')), signals.join('\n'));
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(stackStatus(home, 'rs').hosts.find((h) => h.name === 'server-02')!.daemons.every((d) => d.state === 'faulted'), 'not restarted by the supervisor');
      target.steps.length = 0;
      await heal('rs', 'server-02', { home, target, say: () => undefined });
      assert.deepEqual(target.steps.filter((s) => s.startsWith('rs-server-02: start [pid')).map((s) => s.split('] ')[1]!.split(' ')[0]), ['mariadbd', '/usr/bin/node', 'nginx'], target.steps.join('\n'));
      assert.ok(stackStatus(home, 'rs').hosts.find((h) => h.name === 'server-02')!.daemons.every((d) => d.state === 'ready'));
      await down('rs', { home, target, say: () => undefined, volumes: true });
      await target.settled();
    });
  });

  test('a system command that refuses fails up with a lab error naming it, and up undoes what it made', async () => {
    const design = (await loadDesign('distributed')).stack;
    await withHome(async (home) => {
      // The machine as it is when the veth fails: one namespace and the bridges made so far.
      const refuse: Answer = (_where, argv) => {
        const command = argv.join(' ');
        if (command.startsWith('ip link add wsv-')) return { exitCode: 2, stderr: 'RTNETLINK answers: File exists' };
        if (command === 'ip -j netns list' && target.steps.some((s) => s.includes('ip netns add'))) return { stdout: JSON.stringify([{ name: 'refused-lb-01' }]) };
        if (command === 'ip -j link show') return { stdout: JSON.stringify([{ ifname: 'wsb-made', ifalias: 'webstack:refused' }]) };
        return undefined;
      };
      const target: RecordingTarget = new RecordingTarget({ answer: (where, argv) => refuse(where, argv) });
      await assert.rejects(up(design, upOptions(home, target, 'refused')), (e: LabError) => {
        assert.equal(e.code, 'command-failed');
        assert.match(e.message, /`ip link add wsv-\w+ type veth peer name eth0 netns refused-lb-01` exited with status 2: RTNETLINK answers: File exists/);
        return true;
      });
      const failedAt = target.steps.findIndex((s) => s.startsWith('machine: ip link add wsv-'));
      assert.deepEqual(
        target.steps.slice(failedAt + 1).filter((s) => s.startsWith('machine:')),
        ['machine: ip netns del refused-lb-01', 'machine: ip link del wsb-made'],
        'its namespace and bridges are removed again',
      );
      assert.ok(target.steps.includes(`remove ${join(home, 'refused', 'state.json')}`), 'and its record');
    });
  });

  test('of two ups of overlapping designs started together, one succeeds and the other is refused before it makes anything', async () => {
    const design = (await loadDesign('distributed')).stack;
    await withHome(async (home) => {
      const targets = [new RecordingTarget(), new RecordingTarget()];
      const results = await Promise.allSettled(targets.map((t, i) => up(design, upOptions(home, t, `race${i}`))));
      const won = results.findIndex((r) => r.status === 'fulfilled');
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
      const lost = results[1 - won] as PromiseRejectedResult;
      assert.equal((lost.reason as LabError).code, 'address-overlap');
      assert.equal(targets[1 - won]!.steps.filter((s) => s.startsWith('machine:')).length, 0, 'the refused one changed nothing');
      await down(`race${won}`, { home, target: targets[won]!, say: () => undefined, volumes: true });
      await targets[won]!.settled();
    });
  });
});

describe('a changed design applied to a running stack', () => {
  test('reloads only the daemons whose files changed, validating first, and leaves the rest alone', async () => {
    const before = (await loadDesign('distributed')).stack;
    const after = { ...before, policies: { ...before.policies, lb: { algorithm: 'leastconn' as const } } };
    await withHome(async (home) => {
      const target = new RecordingTarget();
      await up(before, upOptions(home, target, 'live'));
      target.steps.length = 0;
      const result = await up(after, upOptions(home, target, 'live'));
      assert.equal(result.outcome, 'changed');
      assert.deepEqual(result.changes, ['lb-01/haproxy reloaded']);
      const steps = record(target, home);
      assert.match(steps, /live-lb-01: haproxy -c -f <home>\/live\/config\/lb-01\/haproxy\/haproxy\.cfg\.next\n/);
      assert.ok(steps.indexOf('haproxy -c') < steps.indexOf('signal SIGHUP to the supervisor'), 'validated before anything is applied');
      assert.match(steps, /signal SIGUSR2 to pid \d+/, 'HAProxy reloads in place');
      assert.doesNotMatch(steps, /start \[pid/, 'nothing restarts');
      const status = stackStatus(home, 'live');
      assert.equal(status.generation, 2);
      assert.equal(status.hosts.find((h) => h.name === 'lb-01')!.daemons[0]!.reloads, 1);
      await down('live', { home, target, say: () => undefined, volumes: true });
      await target.settled();
    });
  });

  test('a config the daemon refuses is reported in its own words and changes nothing', async () => {
    const before = (await loadDesign('distributed')).stack;
    const after = { ...before, policies: { ...before.policies, lb: { algorithm: 'leastconn' as const } } };
    await withHome(async (home) => {
      let refusing = false;
      const target = new RecordingTarget({
        answer: (_h, argv) => (refusing && argv[0] === 'haproxy' && argv[1] === '-c' ? { exitCode: 1, stderr: "[NOTICE] banner\n[ALERT] config : parsing [haproxy.cfg:41] : unknown keyword 'leastconn'" } : undefined),
      });
      await up(before, upOptions(home, target, 'refuse'));
      const specs = readFileSync(join(home, 'refuse', 'config', 'daemons.json'), 'utf8');
      refusing = true;
      target.steps.length = 0;
      await assert.rejects(up(after, upOptions(home, target, 'refuse')), (e: LabError) => {
        assert.equal(e.code, 'config-invalid');
        assert.match(e.message, /haproxy on lb-01 refused its new config .*\n {4}\[ALERT\] config : parsing \[haproxy\.cfg:41\] : unknown keyword 'leastconn'\nNothing was changed\./);
        assert.doesNotMatch(e.message, /NOTICE/);
        return true;
      });
      assert.equal(readFileSync(join(home, 'refuse', 'config', 'daemons.json'), 'utf8'), specs, 'the specs are as they were');
      assert.ok(!target.steps.some((s) => s.startsWith('write ') && !s.includes('.next')), `no real file was written:\n${target.steps.join('\n')}`);
      assert.ok(!target.steps.some((s) => s.startsWith('signal')), 'no daemon was touched');
      await down('refuse', { home, target, say: () => undefined, volumes: true });
      await target.settled();
    });
  });

  test('a daemon reloads when only its files change and it can reload; anything else restarts it', async () => {
    const plan = planLab((await loadDesign('distributed')).stack, FIXED);
    const haproxy = plan.daemons.find((d) => d.daemon === 'haproxy')!;
    const app = plan.daemons.find((d) => d.daemon === 'app')!;
    const edited = (spec: DaemonSpec) => ({ ...spec, files: spec.files.map((f) => ({ ...f, content: `${f.content}# changed\n` })) });
    assert.equal(changeOf(haproxy, haproxy), 'none');
    assert.equal(changeOf(haproxy, edited(haproxy)), 'reload');
    assert.equal(changeOf(app, edited(app)), 'restart', 'the app cannot reload');
    assert.equal(changeOf(haproxy, { ...haproxy, command: [...haproxy.command, '-V'] }), 'restart');
  });

  test('a change of hosts or networks is refused, naming what to do instead', async () => {
    const before = (await loadDesign('distributed')).stack;
    const moved = { ...before, hosts: before.hosts.map((h) => (h.name === 'server-02' ? { ...h, addresses: { private: '10.71.32.99' } } : h)) };
    await withHome(async (home) => {
      const target = new RecordingTarget();
      await up(before, upOptions(home, target, 'shape'));
      await assert.rejects(up(moved, upOptions(home, target, 'shape')), (e: LabError) => e.code === 'needs-recreate' && /npx webstack down shape/.test(e.fix));
      await down('shape', { home, target, say: () => undefined, volumes: true });
      await target.settled();
    });
  });
});

describe('up --dry-run', () => {
  for (const blueprint of BLUEPRINTS_FOR_DRY_RUN) {
    test(`${blueprint}: prints every step in order and leaves no trace`, async () => {
      const name = `dry-${blueprint}`.slice(0, 12);
      const r = await cli('up', blueprint, '--dry-run', '--name', name);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
      assert.ok(at(/machine: ip link add wsb-/) < at(/write .*\/config\//), 'the network before the files');
      assert.ok(at(/write .*\/config\//) < at(/start the supervisor/), 'the files before the supervisor');
      assert.ok(at(/start the supervisor/) < at(/client: curl .* https?:\/\/www\.foobar\.com\//), 'the proof from the client last');
      if (['secured', 'scaled', 'ha'].includes(blueprint)) {
        const firewall = at(/nft -f .*\/firewall\.nft/);
        assert.ok(firewall > at(/machine: ip link add wsb-/) && firewall < at(/start the supervisor/), 'each firewall after the network and before any daemon');
      }
      assert.equal(existsSync(join('/var/lib/webstack', name)), false);
      assert.equal(existsSync(join('/etc/netns', `${name}-client`)), false);
    });
  }
});

describe("a daemon's log", () => {
  test('is appended to, and rotated to <file>.1 past its bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-log-'));
    try {
      const path = join(dir, 'd.log');
      const log = new LogFile(path, 100);
      log.write('a'.repeat(60));
      log.write('b'.repeat(60));
      log.close();
      const again = new LogFile(path, 100);
      again.write('c'.repeat(10));
      again.close();
      assert.equal(readFileSync(`${path}.1`, 'utf8'), 'a'.repeat(60));
      assert.equal(readFileSync(path, 'utf8'), 'b'.repeat(60) + 'c'.repeat(10), 'a reopened log appends');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("is read from its end: the last lines asked for, no piece of a line cut off at the start, none for a missing file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-log-'));
    try {
      const path = join(dir, 'd.log');
      writeFileSync(path, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n\n');
      assert.deepEqual(lastLines(path, 3), ['line 97', 'line 98', 'line 99']);
      // The last 27 bytes begin with the '6' of 'line 96': that piece is left out.
      assert.deepEqual(lastLines(path, Infinity, 27), ['line 97', 'line 98', 'line 99']);
      assert.equal(lastLines(path).length, 100);
      assert.deepEqual(lastLines(join(dir, 'none.log'), 5), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the catalogue of lab errors', () => {
  test('is documented in docs/lab.md, code by code', async () => {
    const { LAB_ERRORS } = await import('../../src/lab/errors.ts');
    const docs = readFileSync(new URL('../../docs/lab.md', import.meta.url), 'utf8');
    for (const code of Object.keys(LAB_ERRORS)) assert.match(docs, new RegExp(`\\| \`${code}\` \\|`), code);
  });
});

describe("webstack's own programs", () => {
  test('run compiled from dist/, or from the sources through tsx', async () => {
    const { programCommand } = await import('../../src/entry.ts');
    assert.deepEqual(programCommand('/usr/bin/node', '/opt/webstack', 'app/main', true), ['/usr/bin/node', '/opt/webstack/dist/app/main.js']);
    const source = programCommand('/usr/bin/node', '/opt/webstack', 'lab/supervisor-main', false);
    assert.equal(source[1], '--import');
    assert.match(source[2]!, /^file:\/\/.*\/tsx\//);
    assert.equal(source[3], '/opt/webstack/src/lab/supervisor-main.ts');
  });
});

describe('a start nobody waits for', () => {
  test('is abandoned: every daemon stopped, and the status says failed and why', async () => {
    const { Supervisor } = await import('../../src/lab/supervisor.ts');
    const { writeJsonAtomic, readStatus } = await import('../../src/lab/state.ts');
    await withHome(async (home) => {
      const plan = planLab((await loadDesign('simple')).stack, { ...FIXED, home });
      const files = { specs: join(home, 'specs.json'), status: join(home, 'status.json'), faults: join(home, 'faults.json') };
      writeJsonAtomic(files.specs, { generation: 1, specs: plan.daemons });
      // The app never becomes ready, so the start is still under way when `up` is gone.
      const target = new RecordingTarget({ answer: (_h, argv) => (argv.some((a) => a.includes(':8000/')) ? { exitCode: 7 } : undefined) });
      const supervisor = new Supervisor({ generation: 1, specs: plan.daemons.map((d) => ({ ...d, readinessTimeoutMs: 60_000 })) }, files, target);
      const started = supervisor.start();
      while (!target.steps.some((s) => s.includes(':8000/'))) await new Promise((r) => setTimeout(r, 10));
      await supervisor.abandon('the `up` that started this stack was stopped');
      assert.equal(await started, false);
      const status = readStatus(files.status)!;
      assert.equal(status.phase, 'failed');
      assert.match(status.failure!.reason, /the `up` that started this stack was stopped/);
      assert.ok(status.daemons.every((d) => d.state === 'stopped'), JSON.stringify(status.daemons.map((d) => d.state)));
      assert.ok(target.steps.some((s) => /^signal SIGTERM to pid \d+$/.test(s)), 'its daemons were stopped');
    });
  });
});
