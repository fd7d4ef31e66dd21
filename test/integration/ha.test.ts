import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { AuditReport } from '../../src/lab/audit.ts';
import type { Trace } from '../../src/trace/trace.ts';
import { loadFrom } from '../../src/lab/load.ts';
import { failoverWindow } from '../../src/load/generator.ts';
import { namespaceTarget } from '../../src/lab/target.ts';
import { chromium, repoRoot } from '../helpers.ts';
import { alertArrives, alertStories, everyTargetUp, expectOk, faultSince, home, inHost, killInTurn, removeStack, SKIP_LAB, storedKeys, waitFor, until, webstack, whileReading, whileWriting, withDashboard, writeAgain } from './lab-helpers.ts';

// ha, brought up for what the secured-stack issue asks of it: both load balancers behind one
// virtual IP (keepalived), each with a certificate of its own by ACME, TLS end to end, every host
// firewalled, and audit passing from the client and from every tier; its monitoring (two copies
// that alert once), its cache, and its database: a Galera cluster of three, written to through an
// address a synced member holds.

const stack = 'it-ha';
const vip = '203.0.113.158';

/** Whether a host has a virtual IP (the entry's, unless told) on its interface now: a look of a few milliseconds. */
function holdsVip(host: string, address = vip): boolean {
  return spawnSync('ip', ['-n', `${stack}-${host}`, '-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout.includes(` ${address}/`);
}

/** Who holds a virtual IP now, as `status` observes it: the entry's (keepalived), or the database cluster's write address (keepalived-db). */
function holder(daemon = 'keepalived', address = vip): string | null {
  const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
  for (const host of status.hosts) {
    const k = host.daemons.find((d: { name: string }) => d.name === daemon);
    if (k?.observed?.details?.holds?.includes(address)) return host.name;
  }
  return null;
}

const members = ['db-01', 'db-02', 'db-03'] as const;
const writeAddress = '10.71.128.254';
const posts = 'https://www.foobar.com/api/posts';

/** Each member's view of the cluster, as `status` observes it. */
function memberStates(): Record<string, { state: string; cluster: string; size: number } | null> {
  const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
  return Object.fromEntries(members.map((m) => [m, status.hosts.find((h: { name: string }) => h.name === m).daemons.find((d: { name: string }) => d.name === 'mariadb').observed?.details?.galera ?? null]));
}

/** Until every member is synced in one primary component of all three. */
async function clusterWhole(withinMs = 60_000): Promise<void> {
  await waitFor('every member synced in a cluster of three', () => (Object.values(memberStates()).every((m) => m?.state === 'Synced' && m.cluster === 'Primary' && m.size === 3) ? true : undefined), withinMs, () => `: ${JSON.stringify(memberStates())}`);
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

  test('each of the two Prometheus servers scrapes every target on its own, and every one is up', async () => {
    for (const [mon, address] of [['mon-01', '10.71.128.20'], ['mon-02', '10.71.128.21']] as const) {
      const targets = await everyTargetUp(stack, mon, address);
      assert.equal(targets.filter((t) => t.job === 'node-exporter').length, 12, `${mon}: a node exporter on every design host`);
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

  test('the dashboard shows the traffic from Prometheus, who holds the virtual IP, and an alert after a web host is killed from the page', { skip: chromium() ? false : "needs Debian's chromium" }, async (t) => {
    try {
      await withDashboard(stack, async (page, _url, shot) => {
        const state = (host: string) => page.locator(`#hosts tr[data-host="${host}"] .state`).textContent();
        await until('web-01 ready on the page', 20_000, async () => (await state('web-01')) === 'ready');
        await until("Prometheus's figures", 20_000, async () => /Prometheus/.test((await page.locator('#traffic-source').textContent()) ?? ''));
        assert.match((await page.locator('#database').textContent()) ?? '', new RegExp(`virtual IP ${vip.replace(/\./g, '\\.')} \\(lb\\): held by lb-0[12]`));
        await page.locator('#traffic-start').click();
        const killed = Date.now();
        await page.getByRole('button', { name: 'kill web-01' }).click();
        await until('web-01 faulted on the page', 3_000, async () => (await state('web-01')) === 'faulted');
        await until('an alert about web-01 on the page', 120_000, async () => /firing: \w+ .*web-01/.test((await page.locator('#alerts').textContent()) ?? ''));
        t.diagnostic(`the alert was on the page ${Date.now() - killed} ms after the click: ${(await page.locator('#alerts li').first().textContent()) ?? ''}`);
        await shot('ha-alert');
        await page.getByRole('button', { name: 'heal web-01' }).click();
        await until('web-01 ready again', 30_000, async () => (await state('web-01')) === 'ready');
        await page.locator('#traffic-stop').click();
      });
    } finally {
      webstack('heal', 'web-01', '--stack', stack);
    }
  });

  test('trace over TLS through the virtual IP: a static file from nginx, a read through the cache, and a write certified by the Galera cluster at the write address', () => {
    const traced = (...args: string[]) => JSON.parse(expectOk(webstack('trace', ...args, '--stack', stack, '--json'), 'trace').stdout) as Trace;
    const step = (t: Trace, kind: string) => t.steps.find((s) => s.step === kind)!;
    const file = traced('https://www.foobar.com/static/style.css');
    assert.deepEqual(file.steps.map((s) => s.step), ['resolve', 'connect', 'balance', 'web', 'answer']);
    assert.match(step(file, 'resolve').said, new RegExp(`${vip.replace(/\./g, '\\.')} \\(TTL \\d+ s\\), answered by dns, a virtual IP held now by lb-0[12] \\(of lb-01, lb-02\\)`));
    assert.match(step(file, 'connect').said, /TLSv1\.3 .*certificate .*www\.foobar\.com.*, verified, HTTP\/2/);
    assert.match(step(file, 'web').said, /served the file itself/);
    const read = traced(posts);
    assert.match(step(read, 'app').said, /the cache: (hit|miss)/);
    const write = traced(posts, '--data', JSON.stringify({ author: 'trace', body: `traced ${Date.now()}` }));
    const writer = holder('keepalived-db', writeAddress);
    assert.match(step(write, 'app').said, new RegExp(`written to ${writer}, acknowledged: certified by the Galera cluster`));
    const again = traced(posts, '--session', write.setCookies.join('; '));
    assert.match(step(again, 'app').said, /the cache: bypass/);
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
      const moved = seenAt - faultSince(stack, first);
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
      // As many connections as requests can be outstanding (rate × timeout): a request never waits
      // for a socket held by one the frozen holder swallowed, so the window is the stack's, not the
      // client pool's (with 20, the queue behind 20 hung sockets missed its deadlines now and then).
      const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/api/posts'], requests: 1200, rate: 100, connections: 200, timeoutS: 2, timeline: true }, namespaceTarget);
      try {
        await sleep(3000);
        expectOk(webstack('fail', first, '--how', how, '--stack', stack), `fail ${first}`);
        const faultAt = faultSince(stack, first);
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
  test('the database is a cluster of three synced members, and one of them holds the write address', async () => {
    await clusterWhole();
    assert.ok((members as readonly string[]).includes(holder('keepalived-db', writeAddress) ?? ''), 'a member holds the write address');
    const head = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', '-H', 'content-type: application/json', '-d', '{"author":"it","body":"through the writer"}', posts), 'POST').stdout;
    assert.match(head, /^HTTP\/2 201/);
  });

  for (const how of ['kill', 'freeze', 'cut'] as const) {
    test(`the member holding the write address ${how === 'kill' ? 'killed' : how === 'freeze' ? 'frozen' : 'cut off'} under constant writes: writes are back within 2 s, and every acknowledged one is on every member, once`, async (t) => {
      await clusterWhole();
      const writer = holder('keepalived-db', writeAddress)!;
      const run = `${how}-${Date.now().toString(36)}`;
      let faultAt = 0;
      let healAt = 0;
      const writes = await whileWriting(stack, posts, 100, run, async () => {
        try {
          faultAt = Date.now();
          expectOk(webstack('fail', writer, '--how', how, '--stack', stack), `fail ${writer}`);
          await sleep(4000);
          healAt = Date.now();
          expectOk(webstack('heal', writer, '--stack', stack), `heal ${writer}`);
        } finally {
          webstack('heal', writer, '--stack', stack);
        }
      });
      await clusterWhole();
      const by = (codes: string[]) => writes.filter((w) => codes.includes(w.status)).map((w) => w.key);
      const failed = writes.filter((w) => w.status !== '201');
      const [duringFault, atRejoin] = [failed.filter((w) => w.sentAt < healAt), failed.filter((w) => w.sentAt >= healAt)];
      // From the fault to the end of the last write that failed before heal: how long users could not write.
      const outageMs = duringFault.length ? Math.max(...duringFault.map((w) => w.sentAt + w.tookMs)) - faultAt : 0;
      const [acknowledged, refused, unknown] = [by(['201']), by(['503']), by(['504', '502', '000'])];
      t.diagnostic(`${writer} ${how}: ${acknowledged.length} of ${writes.length} writes acknowledged, ${refused.length} refused, ${unknown.length} of unknown outcome; writes failed for ${outageMs} ms after the fault, and ${atRejoin.length} as ${writer} rejoined; the write address moved to ${holder('keepalived-db', writeAddress)}`);
      assert.equal(writes.length, 100);
      assert.equal(acknowledged.length + refused.length + unknown.length, 100, `every write is acknowledged, refused or unknown: ${JSON.stringify(failed)}`);
      // The goal is 2 s (measured here: 1.0 to 1.9 s); the bound leaves room for a busy machine.
      assert.ok(outageMs <= 3000, `writes failed for ${outageMs} ms`);
      // A member that rejoins changes the cluster's view, which holds commits for a moment; a frozen
      // writer that thaws claims the write address back until its check sees it was left out. Either
      // costs writes for a moment, each refused or of unknown outcome, never lost.
      const rejoinMs = atRejoin.length ? Math.max(...atRejoin.map((w) => w.sentAt + w.tookMs)) - Math.min(...atRejoin.map((w) => w.sentAt)) : 0;
      t.diagnostic(`as ${writer} rejoined, writes failed for ${rejoinMs} ms`);
      assert.ok(rejoinMs <= 3000, `writes failed for ${rejoinMs} ms as ${writer} rejoined: ${JSON.stringify(atRejoin)}`);
      for (const key of unknown) assert.equal(writeAgain(stack, posts, key), '201', key);
      for (const member of members) {
        const stored = storedKeys(stack, member, `w-%-${run}`);
        assert.equal(stored.length, new Set(stored).size, `${member} stores each key once`);
        for (const key of [...acknowledged, ...unknown]) assert.ok(stored.includes(key), `${key}, acknowledged, is on ${member}`);
        for (const key of refused) assert.ok(!stored.includes(key), `${key}, refused, is not on ${member}`);
      }
    });
  }

  test('one member cut off is a minority: it refuses reads and writes, and gives the write address up', async () => {
    await clusterWhole();
    const writer = holder('keepalived-db', writeAddress)!;
    try {
      expectOk(webstack('fail', writer, '--how', 'cut', '--stack', stack), `cut ${writer}`);
      const socket = join(home, stack, 'run', writer, 'mariadb', 'mysqld.sock');
      const cutOff = await waitFor('the cut-off member to know it is a minority', () => {
        const read = inHost(stack, writer, 'mariadb', '-S', socket, '-N', '-e', 'SELECT COUNT(*) FROM foobar.posts');
        return read.code !== 0 ? read.stderr : undefined;
      }, 10_000);
      assert.match(cutOff, /WSREP has not yet prepared node for application use/);
      await waitFor('the write address to leave the cut-off member', () => (holdsVip(writer, writeAddress) ? undefined : true), 10_000);
      assert.ok(members.some((m) => m !== writer && holdsVip(m, writeAddress)), 'another member holds the write address');
    } finally {
      webstack('heal', writer, '--stack', stack);
    }
    await clusterWhole();
  });

  // Last: it stops the stack.
  test('a stack stopped with one member dead behind the others starts again from the most advanced member, and loses no acknowledged write', async (t) => {
    await clusterWhole();
    const behind = members.find((m) => m !== holder('keepalived-db', writeAddress))!;
    const run = `restart-${Date.now().toString(36)}`;
    let written: string[] = [];
    try {
      expectOk(webstack('fail', behind, '--stack', stack), `kill ${behind}`);
      // The cluster takes a second to leave the dead member out; then the other two take the writes.
      await sleep(2000);
      const writes = await whileWriting(stack, posts, 10, run, async () => undefined);
      for (const w of writes.filter((w) => w.status !== '201')) assert.equal(writeAgain(stack, posts, w.key), '201', `${w.key}, sent again`);
      written = writes.map((w) => w.key);
      t.diagnostic(`${writes.filter((w) => w.status === '201').length} of 10 writes acknowledged at once with ${behind} dead, the rest when sent again`);
    } finally {
      expectOk(webstack('down', stack), 'down');
    }
    const up = expectOk(webstack('up', 'ha', '--name', stack), 'up again');
    const chosen = /\+ (db-\d+) starts the database cluster: (.*)/.exec(up.stdout);
    t.diagnostic(chosen?.[0] ?? up.stdout);
    assert.ok(chosen && chosen[1] !== behind, `the cluster starts from a member that has every write, not ${behind}`);
    await clusterWhole();
    for (const member of members) assert.deepEqual(storedKeys(stack, member, `w-%-${run}`).sort(), [...written].sort(), `${member} has every acknowledged write`);
  });
});
