import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { AuditReport } from '../../src/lab/audit.ts';
import { loadFrom } from '../../src/lab/load.ts';
import { failoverWindow } from '../../src/load/generator.ts';
import { namespaceTarget } from '../../src/lab/target.ts';
import { repoRoot } from '../helpers.ts';
import { alertArrives, alertStories, everyTargetUp, expectOk, home, inHost, killInTurn, removeStack, SKIP_LAB, webstack, whileReading } from './lab-helpers.ts';

// ha, brought up for what the secured-stack issue asks of it: both load balancers behind one
// virtual IP (keepalived), each with a certificate of its own by ACME, TLS end to end, every host
// firewalled, and audit passing from the client and from every tier; its monitoring (two copies
// that alert once) and its cache. Automatic database failover comes later (up names it).

const stack = 'it-ha';
const vip = '203.0.113.158';

/** Whether a load balancer has the virtual IP on its interface now: a look of a few milliseconds. */
function holdsVip(lb: string): boolean {
  return spawnSync('ip', ['-n', `${stack}-${lb}`, '-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes(` ${vip}/`);
}

function holder(): string | null {
  const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
  for (const host of status.hosts) {
    const k = host.daemons.find((d: { name: string }) => d.name === 'keepalived');
    if (k?.observed?.details?.holds?.includes(vip)) return host.name;
  }
  return null;
}

/** The version each app server says it runs, as `status` observes it. */
function appVersions(): Record<string, string> {
  const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
  return Object.fromEntries(
    status.hosts.flatMap((h: { name: string; daemons: { name: string; observed?: { details?: { version?: string } } }[] }) =>
      h.daemons.filter((d) => d.name === 'app').map((d) => [h.name, d.observed?.details?.version ?? 'unknown']),
    ),
  );
}

describe('ha: two load balancers behind a virtual IP, TLS end to end, firewalled and audited', { skip: SKIP_LAB }, () => {
  before(() => {
    removeStack(stack);
    expectOk(webstack('up', 'ha', '--name', stack), 'up');
  });
  after(() => removeStack(stack));

  test('the client reaches the site at the virtual IP over HTTPS, and both load balancers hold a certificate of their own', () => {
    assert.equal(expectOk(inHost(stack, 'client', 'dig', '+short', 'www.foobar.com'), 'dig').stdout.trim(), vip);
    const answer = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', 'https://www.foobar.com/api/posts'), 'GET').stdout;
    assert.match(answer, /^HTTP\/2 200/);
    const certs = JSON.parse(expectOk(webstack('certs', '--stack', stack, '--json'), 'certs').stdout);
    assert.deepEqual(certs.map((c: { holder: string; names: string[] }) => `${c.holder} ${c.names.join()}`), ['lb-01 www.foobar.com', 'lb-02 www.foobar.com']);
    assert.notEqual(certs[0].serial, certs[1].serial);
    // The first to advertise holds it; without preemption, that need not be the preferred one.
    assert.ok(['lb-01', 'lb-02'].includes(holder() ?? ''), 'a load balancer holds the address');
  });

  test('the primary commits semi-synchronously: its replica acknowledges every write before the app is told', () => {
    const status = expectOk(webstack('status', '--stack', stack), 'status').stdout;
    assert.match(status, /db-01 mariadb: primary, semi-sync on \(1 replica acknowledging\)/);
  });

  test('each of the two Prometheus servers scrapes every target on its own, and every one is up', async () => {
    for (const [mon, address] of [['mon-01', '10.71.128.19'], ['mon-02', '10.71.128.20']] as const) {
      const targets = await everyTargetUp(stack, mon, address);
      assert.equal(targets.filter((t) => t.job === 'node-exporter').length, 11, `${mon}: a node exporter on every design host`);
      assert.deepEqual(targets.filter((t) => t.job === 'prometheus').map((t) => t.host).sort(), ['mon-01', 'mon-02']);
      assert.deepEqual(targets.filter((t) => t.job === 'haproxy').map((t) => t.host).sort(), ['lb-01', 'lb-02']);
      assert.deepEqual(targets.filter((t) => t.job === 'alertmanager').map((t) => t.host).sort(), ['mon-01', 'mon-02']);
    }
  });

  test('two Prometheus and two Alertmanagers tell a person once; with one monitoring host dead, the next alert still arrives', async (t) => {
    try {
      expectOk(webstack('fail', 'web-02', '--stack', stack), 'fail web-02');
      const web = await alertArrives(stack, 'BackendDown for web-02', (a) => a.name === 'BackendDown' && a.labels.server === 'web-02');
      // Give the other Alertmanager time to send it too, if the cluster failed to deduplicate.
      await sleep(10_000);
      const told = alertStories(stack).filter((a) => a.labels.host === 'web-02' || a.labels.server === 'web-02');
      t.diagnostic(told.map((a) => `${a.name} ${a.subject} via ${a.via} ×${a.firingNotifications}`).join('; '));
      for (const a of told) assert.equal(a.firingNotifications, 1, `${a.name} ${a.subject}: told once, not once per Alertmanager`);
      // One story per alert: two Prometheus evaluating the same rule make one alert, not two.
      const names = told.map((a) => `${a.name} ${a.subject}`);
      assert.deepEqual(names, [...new Set(names)], 'each alert told once, not once per Prometheus');
      assert.ok(web.via === 'mon-01' || web.via === 'mon-02');
      expectOk(webstack('heal', 'web-02', '--stack', stack), 'heal web-02');

      // The monitoring host that sent it dies; the other one alone tells of the next failure.
      const dead = web.via;
      expectOk(webstack('fail', dead, '--stack', stack), `fail ${dead}`);
      const failedAt = Date.now();
      expectOk(webstack('fail', 'app-02', '--stack', stack), 'fail app-02');
      const next = await alertArrives(stack, 'BackendDown or InstanceDown for app-02', (a) => a.labels.host === 'app-02' && a.status === 'firing');
      t.diagnostic(`with ${dead} dead, ${next.name} for app-02 arrived via ${next.via} ${Date.parse(next.notifiedAt) - failedAt} ms after the fail`);
      assert.notEqual(next.via, dead);
    } finally {
      for (const host of ['web-02', 'app-02', 'mon-01', 'mon-02']) webstack('heal', host, '--stack', stack);
    }
  });

  test('audit passes on every host of ha', (t) => {
    const run = webstack('audit', '--stack', stack, '--json');
    const report = JSON.parse(run.stdout) as AuditReport;
    t.diagnostic(`${report.scans.length} scans, ${report.failures} failures, ${report.pending} not served by the lab yet`);
    assert.equal(run.code, 0, JSON.stringify(report.scans.filter((s) => s.verdicts.some((v) => v.verdict === 'fail'))));
    assert.equal(report.scans.find((s) => s.from === 'lb-02' && s.to === 'web-01')?.verdicts.find((v) => v.port === 443)?.verdict, 'pass');
  });

  test('through the cache: a post written is on the next read (its writer past the cache, others by a miss), and the read after that is a hit', () => {
    const get = (jar?: string) => {
      const out = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', ...(jar ? ['-b', jar] : []), 'https://www.foobar.com/api/posts'), 'GET /api/posts').stdout;
      const [head, body] = out.split(/\r?\n\r?\n/);
      return { cache: /^x-cache: (\S+)/im.exec(head!)?.[1], first: (JSON.parse(body!) as { posts: { body: string }[] }).posts[0]?.body };
    };
    get();
    const text = `cached ${Date.now()}`;
    const jar = `/tmp/${stack}-jar`;
    expectOk(inHost(stack, 'client', 'curl', '-s', '-c', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ author: 'ann', body: text }), 'https://www.foobar.com/api/posts'), 'POST');
    assert.deepEqual(get(jar), { cache: 'bypass', first: text }, 'the writer reads its own write, past the cache');
    // The write invalidated the page for everyone: the next read has the post, from a database
    // (a miss), or from a page some other read filled since (the uptime probe reads the same page).
    const next = get();
    assert.equal(next.first, text);
    assert.ok(next.cache === 'miss' || next.cache === 'hit', String(next.cache));
    assert.deepEqual(get(), { cache: 'hit', first: text });
  });

  test('the cache host, a web server and an app server, each killed under constant reads, cost no failed request', async (t) => {
    const result = await whileReading(stack, 'https://www.foobar.com/api/posts', 24, () => killInTurn(stack, ['cache-01', 'web-01', 'app-02']));
    t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result));
    assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /cache-01 redis: \d+ keys/);
  });

  test('a deploy of a new app version under constant reads fails no request, and leaves every app server on it', async (t) => {
    let output = '';
    const result = await whileReading(stack, 'https://www.foobar.com/api/posts', 14, async () => {
      output = expectOk(webstack('deploy', '--stack', stack, '--version', 'v2'), 'deploy').stdout;
    });
    t.diagnostic(output.trim());
    t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result));
    assert.deepEqual(appVersions(), { 'app-01': 'v2', 'app-02': 'v2' });
    assert.match(expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', 'https://www.foobar.com/api/posts'), 'GET').stdout, /^x-app-version: v2/im);
  });

  test('a release that never passes its health check stops the roll at its first host, which is rolled back; users see none of it', async (t) => {
    let run: ReturnType<typeof webstack> | null = null;
    const broken = `${process.execPath} ${join(repoRoot, 'test/fixtures/unhealthy-app.mjs')}`;
    const result = await whileReading(stack, 'https://www.foobar.com/api/posts', 14, async () => {
      run = webstack('deploy', '--stack', stack, '--app', broken, '--version', 'broken', '--health-timeout', '5s');
    });
    const { code, stdout, stderr } = run!;
    t.diagnostic(`${stdout.trim()}\n${stderr.trim()}`);
    assert.equal(code, 1);
    assert.match(stderr, /app-01 did not become healthy on version broken \(.*not ready after 5 s.*\); it was rolled back to version v2 and serves again\. Left on their version: app-02\./);
    assert.equal(result.failed, 0, JSON.stringify(result));
    assert.deepEqual(appVersions(), { 'app-01': 'v2', 'app-02': 'v2' });
  });

  test('the virtual IP moves to the other load balancer within a second of its holder killed, and stays there after heal (no flapping)', async (t) => {
    const first = holder()!;
    const other = first === 'lb-01' ? 'lb-02' : 'lb-01';
    try {
      // The fail command runs on its own while this looks at the other holder's addresses every 20 ms.
      const failing = spawn(process.execPath, [join(repoRoot, 'bin', 'webstack.js'), 'fail', first, '--stack', stack], { stdio: 'ignore' });
      const done = new Promise<number | null>((resolve) => failing.on('exit', resolve));
      let seenAt = 0;
      for (const started = Date.now(); !seenAt && Date.now() - started < 15_000; await sleep(20)) {
        if (holdsVip(other)) seenAt = Date.now();
      }
      assert.equal(await done, 0, 'fail');
      assert.ok(seenAt, `${other} took the address within 15 s`);
      // From the moment the fault was made, as the fail command recorded it.
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
      const moved = seenAt - Date.parse(status.hosts.find((h: { name: string }) => h.name === first).fault.since);
      t.diagnostic(`${other} held the address ${moved} ms after ${first} was killed`);
      // VRRP every 200 ms: three missed advertisements and a little skew, under a second.
      assert.ok(moved < 1_500, `${moved} ms`);
      assert.equal(expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'https://www.foobar.com/'), `GET via ${other}`).stdout, '200');
      expectOk(webstack('heal', first, '--stack', stack), 'heal');
      await sleep(3_000);
      assert.equal(holder(), other, `the healed ${first} does not take the address back while ${other} serves`);
    } finally {
      webstack('heal', first, '--stack', stack);
    }
  });

  for (const how of ['kill', 'freeze', 'cut'] as const) {
    test(`the holder of the virtual IP ${how === 'kill' ? 'killed' : how === 'freeze' ? 'frozen' : 'cut off'} under constant reads: the errors stop within a second or two, and the other holder serves`, async (t) => {
      const first = holder()!;
      const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/api/posts'], requests: 1200, rate: 100, connections: 20, timeoutS: 2, timeline: true }, namespaceTarget);
      try {
        await sleep(3000);
        expectOk(webstack('fail', first, '--how', how, '--stack', stack), `fail ${first}`);
        const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
        const faultAt = Date.parse(status.hosts.find((h: { name: string }) => h.name === first).fault.since);
        const result = await load;
        const { failed, windowMs } = failoverWindow(result.timeline!, faultAt);
        t.diagnostic(`${how} ${first}: ${failed} of ${result.requests} requests failed, errors for ${windowMs} ms after the fault; p99 ${result.latencyMs.p99} ms`);
        // The goal is 1 s; the bound leaves room for a busy machine.
        assert.ok(windowMs <= 2000, `errors for ${windowMs} ms`);
        assert.ok(result.timeline!.at(-1)!.ok, 'the run ends answered');
      } finally {
        await load.catch(() => undefined);
        webstack('heal', first, '--stack', stack);
      }
    });
  }

  test('a frozen HAProxy on a live host gives the address up: keepalived checks that its HAProxy serves', async (t) => {
    const before = holder();
    assert.ok(before, 'someone holds the address');
    const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
    const haproxy = status.hosts.find((h: { name: string }) => h.name === before).daemons.find((d: { name: string }) => d.name === 'haproxy');
    const started = Date.now();
    // The HAProxy master and its workers (their process group), and nothing else of the host.
    process.kill(-haproxy.pid, 'SIGSTOP');
    try {
      while (holdsVip(before)) {
        assert.ok(Date.now() - started < 10_000, 'the address moved within 10 s');
        await sleep(20);
      }
      t.diagnostic(`the address left ${before} ${Date.now() - started} ms after its HAProxy froze`);
      assert.equal(expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', 'https://www.foobar.com/'), 'GET').stdout, '200');
    } finally {
      process.kill(-haproxy.pid, 'SIGCONT');
    }
  });
});
