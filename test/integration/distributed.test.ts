import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { blueprintFile } from '../../src/blueprints/index.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { loadFrom } from '../../src/lab/load.ts';
import type { ProveReport } from '../../src/lab/prove.ts';
import type { Trace } from '../../src/trace/trace.ts';
import { namespaceTarget } from '../../src/lab/target.ts';
import type { LoadResult } from '../../src/load/generator.ts';
import { repoRoot } from '../helpers.ts';
import { expectOk, faultSince, home, inHost, removeStack, SKIP_LAB, storedKeys, webstack, whileWriting, writeAgain } from './lab-helpers.ts';

// The seeds' second stage, for real: HAProxy in front of two servers, a MariaDB primary on
// server-01 and its replica on server-02; everything from the client host, through the LB.
// One stack for the file; every test that breaks a host heals it in `finally`.

const stack = 'it-dist';
const lb = { namespace: `${stack}-lb-01`, stats: 'http://10.71.32.10:8404' };
const www = 'http://www.foobar.com';

/** The idempotency keys of the posts the primary holds, among those LIKE `pattern`. */
function storedOnPrimary(pattern: string): Set<string> {
  return new Set(storedKeys(stack, 'server-01', pattern));
}

/** A column of HAProxy's statistics for a server: its status (UP, DOWN, "UP 1/2"), or chkdown (how often it went down). */
function serverStat(server: string, column = 'status'): string {
  const csv = execFileSync('ip', ['netns', 'exec', lb.namespace, 'curl', '-s', '--max-time', '1', `${lb.stats}/stats;csv`], { encoding: 'utf8' });
  const header = csv.split('\n')[0]!.replace(/^# /, '').split(',');
  const row = csv.split('\n').find((l) => l.startsWith(`servers,${server},`));
  return row ? row.split(',')[header.indexOf(column)]! : 'missing';
}

async function waitForState(server: string, wanted: 'UP' | 'DOWN', withinMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if (serverStat(server) === wanted) return Date.now();
    await sleep(20);
  }
  throw new Error(`${server} was not ${wanted} within ${withinMs} ms (it is ${serverStat(server)})`);
}

/** curl from the client: status, headers (lower-cased) and body. */
function request(method: 'GET' | 'POST', path: string, body?: unknown) {
  const args = ['curl', '-s', '-i', '--max-time', '10', ...(method === 'POST' ? ['-H', 'content-type: application/json', '-d', JSON.stringify(body)] : []), `${www}${path}`];
  const { stdout } = expectOk(inHost(stack, 'client', ...args), `${method} ${path}`);
  const [head, ...rest] = stdout.split(/\r?\n\r?\n/);
  const lines = head!.split(/\r?\n/);
  const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(lines[0]!.split(' ')[1]), headers, body: rest.join('\n\n') };
}

/** Constant load on GET / and GET /api/posts from the client while `during` breaks and mends things. */
async function underLoad(during: () => Promise<void>, requests = 1200): Promise<LoadResult> {
  const rate = 100;
  const started = Date.now();
  const load = loadFrom(home, stack, { from: 'client', urls: [`${www}/`, `${www}/api/posts`], requests, rate, connections: 20, timeoutS: 10 }, namespaceTarget);
  await sleep(1500);
  await during();
  // Whatever was done must have been done while the load still ran.
  assert.ok(Date.now() - started < (requests / rate) * 1000, `done ${Date.now() - started} ms after the load began, which lasts ${(requests / rate) * 1000} ms`);
  return load;
}

/** Which servers answer `count` requests through the LB, and how often. */
function servedBy(count: number): Record<string, number> {
  const script = `for i in $(seq ${count}); do curl -s -o /dev/null -D - ${www}/api/posts | grep -i '^x-served-by' | tr -d '\\r' | cut -d' ' -f2; done`;
  const names = expectOk(inHost(stack, 'client', 'bash', '-c', script), 'requests').stdout.trim().split('\n');
  const counts: Record<string, number> = {};
  for (const n of names) counts[n] = (counts[n] ?? 0) + 1;
  return counts;
}

/**
 * The seeds' promise, under constant load: breaking `host` fails no request, HAProxy marks it down
 * within 1.5 s of the fault, and after `heal` it takes traffic again. `whileDown` looks around
 * before the heal.
 */
async function promiseHolds(t: TestContext, host: string, how: 'kill' | 'freeze', whileDown?: () => void): Promise<void> {
  let detectedMs = Infinity;
  try {
    const result = await underLoad(async () => {
      expectOk(webstack('fail', host, '--how', how, '--stack', stack), 'fail');
      detectedMs = (await waitForState(host, 'DOWN', 5_000)) - faultSince(stack, host);
      whileDown?.();
      await sleep(1_500);
      expectOk(webstack('heal', host, '--stack', stack), 'heal');
    });
    t.diagnostic(`${how} ${host}: marked down after ${detectedMs} ms; ${result.requests} requests, ${result.failed} failed, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result));
    assert.deepEqual(Object.keys(result.statuses), ['200']);
    assert.ok(detectedMs < 1500, `marked down after ${detectedMs} ms`);
    await waitForState(host, 'UP', 10_000);
    assert.ok((servedBy(20)[host] ?? 0) > 0, `${host} takes traffic again`);
  } finally {
    webstack('heal', host, '--stack', stack);
  }
}

describe('distributed: HAProxy, two servers, a primary and a replica', { skip: SKIP_LAB }, () => {
  before(() => {
    removeStack(stack);
    expectOk(webstack('up', 'distributed', '--name', stack), 'up');
  });
  after(() => removeStack(stack));

  test('100 requests through the load balancer are spread over both servers within 10% of even', () => {
    const counts = servedBy(100);
    assert.deepEqual(Object.keys(counts).sort(), ['server-01', 'server-02']);
    for (const n of Object.values(counts)) assert.ok(n >= 45 && n <= 55, `uneven: ${JSON.stringify(counts)}`);
  });

  test('a post written through the LB is readable through the replica within 1 s', (t) => {
    const body = `replicated ${Date.now()}`;
    // One script inside the client, so the clock is not the CLI's start-up time.
    const script = `
      start=$(date +%s%N)
      curl -s -o /dev/null -w '%{http_code}\\n' -H 'content-type: application/json' -d '{"author":"it","body":"${body}"}' ${www}/api/posts
      while true; do
        out=$(curl -s -D - ${www}/api/posts)
        if grep -q "${body}" <<<"$out" && grep -qi '^x-read-from: server-02' <<<"$out"; then echo $(( ($(date +%s%N) - start) / 1000000 )); exit 0; fi
        if (( $(date +%s%N) - start > 5000000000 )); then echo never; exit 1; fi
        sleep 0.02
      done`;
    const [status, elapsed] = expectOk(inHost(stack, 'client', 'bash', '-c', script), 'write then read').stdout.trim().split('\n');
    assert.equal(status, '201');
    t.diagnostic(`readable through the replica ${elapsed} ms after the write was sent`);
    assert.ok(Number(elapsed) < 1000, `readable through the replica after ${elapsed} ms`);
  });

  test('a client that has just written reads from the primary; status shows the replica keeping up', () => {
    const script = `curl -s -o /dev/null -c /tmp/${stack}-jar -H 'content-type: application/json' -d '{"author":"it","body":"mine"}' ${www}/api/posts
      curl -s -D - -o /dev/null -b /tmp/${stack}-jar ${www}/api/posts | grep -i '^x-read-from'; rm -f /tmp/${stack}-jar`;
    assert.match(expectOk(inHost(stack, 'client', 'bash', '-c', script), 'read-your-writes').stdout, /x-read-from: server-01/i);

    const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
    const replica = status.hosts.find((h: { name: string }) => h.name === 'server-02').daemons.find((d: { name: string }) => d.name === 'mariadb').observed.details.replication;
    assert.equal(replica.io, 'Yes');
    assert.equal(replica.sql, 'Yes');
    assert.equal(replica.primary, '10.71.32.11');
    assert.equal(replica.lagSeconds, 0);
    assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /server-02 mariadb: replica from 10\.71\.32\.11, running, 0 s behind/);
  });

  test('the stats page and Prometheus metrics answer on the private network only; the app sees the client address', () => {
    const metrics = execFileSync('ip', ['netns', 'exec', lb.namespace, 'curl', '-s', `${lb.stats}/metrics`], { encoding: 'utf8' });
    assert.match(metrics, /^haproxy_server_status\{proxy="servers",server="server-01"/m);
    const fromClient = inHost(stack, 'client', 'curl', '-s', '--max-time', '2', 'http://203.0.113.42:8404/stats');
    assert.equal(fromClient.code, 7, 'the public address has nothing on 8404: connection refused');
    request('GET', '/api/posts');
    const logs = ['server-01', 'server-02'].map((h) => readFileSync(join(home, stack, 'logs', h, 'nginx.log'), 'utf8')).join('');
    assert.match(logs, /forwarded-for="203\.0\.113\.34"/, 'X-Forwarded-For carries the client');
  });

  test('under constant load, killing server-01 (and its primary) fails no request; it is down within 1.5 s and takes traffic after heal', (t) =>
    promiseHolds(t, 'server-01', 'kill', () => {
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
      const seen = status.hosts.find((h: { name: string }) => h.name === 'lb-01').daemons[0].observed.details.servers;
      assert.deepEqual(seen.map((b: { server: string; status: string }) => `${b.server} ${b.status}`), ['server-01 DOWN', 'server-02 UP'], 'status shows what HAProxy sees');
      assert.equal(status.hosts.find((h: { name: string }) => h.name === 'server-01').fault.how, 'kill');
    }));

  test('under constant load, freezing server-02 (and its replica) fails no request; it is down within 1.5 s and takes traffic after heal', (t) =>
    promiseHolds(t, 'server-02', 'freeze'));

  test('with the primary killed, writes answer 503 saying so while reads work; after heal writes work and nothing is lost', async () => {
    const before = Array.from({ length: 5 }, (_, i) => request('POST', '/api/posts', { author: 'it', body: `kept ${i} ${Date.now()}` }));
    for (const r of before) assert.equal(r.status, 201);
    const ids = before.map((r) => JSON.parse(r.body).id as number);
    try {
      expectOk(webstack('fail', 'server-01', '--how', 'kill', '--stack', stack), 'fail');
      await waitForState('server-01', 'DOWN', 5_000);

      const write = request('POST', '/api/posts', { author: 'it', body: 'while the primary is gone' });
      assert.equal(write.status, 503);
      assert.equal(write.headers['content-type'], 'application/json');
      const error = JSON.parse(write.body);
      assert.equal(error.primary, 'server-01');
      assert.match(error.error, /primary database \(server-01\) is unavailable/);

      const read = request('GET', '/api/posts?limit=100');
      assert.equal(read.status, 200);
      assert.equal(read.headers['x-read-from'], 'server-02');
      const visible = new Set((JSON.parse(read.body).posts as { id: number }[]).map((p) => p.id));
      for (const id of ids) assert.ok(visible.has(id), `post ${id} readable while the primary is gone`);
      assert.equal(request('GET', '/').status, 200);

      expectOk(webstack('heal', 'server-01', '--stack', stack), 'heal');
      const again = request('POST', '/api/posts', { author: 'it', body: 'after heal' });
      assert.equal(again.status, 201);
      const all = new Set((JSON.parse(request('GET', '/api/posts?limit=100').body).posts as { id: number }[]).map((p) => p.id));
      for (const id of [...ids, JSON.parse(again.body).id]) assert.ok(all.has(id), `post ${id} is still there`);
    } finally {
      webstack('heal', 'server-01', '--stack', stack);
    }
  });

  test('cutting a host and healing it restores its links; fail and heal refuse what makes no sense', async () => {
    try {
      expectOk(webstack('fail', 'server-02', '--how', 'cut', '--stack', stack), 'fail');
      const links = execFileSync('ip', ['-n', `${stack}-server-02`, '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' });
      assert.doesNotMatch(JSON.parse(links)[0].flags.join(','), /\bUP\b/);
      await waitForState('server-02', 'DOWN', 5_000);
      assert.equal(request('GET', '/api/posts').status, 200);

      const twice = webstack('fail', 'server-02', '--stack', stack);
      assert.equal(twice.code, 1);
      assert.match(twice.stderr, /server-02 is already failed \(cut/);

      expectOk(webstack('heal', 'server-02', '--stack', stack), 'heal');
      await waitForState('server-02', 'UP', 10_000);
    } finally {
      webstack('heal', 'server-02', '--stack', stack);
    }
    const notFailed = webstack('heal', 'server-02', '--stack', stack);
    assert.equal(notFailed.code, 1);
    assert.match(notFailed.stderr, /host server-02 is not failed/);
    const how = webstack('fail', 'server-02', '--how', 'explode', '--stack', stack);
    assert.equal(how.code, 2);
    assert.match(how.stderr, /--how 'explode' is not a way to fail; use one of: kill, freeze, cut/);
    assert.equal(webstack('fail', 'nobody', '--stack', stack).code, 1);
  });

  test('a partition cuts server-02 off from the LB while it runs on and still replicates: the LB marks it down, users see no error, and heal mends it', async () => {
    try {
      expectOk(webstack('fail', 'lb-01', '--how', 'partition', '--to', 'server-02', '--stack', stack), 'partition');
      await waitForState('server-02', 'DOWN', 5_000);
      for (let i = 0; i < 6; i++) assert.equal(request('GET', '/api/posts').status, 200);
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout) as { hosts: { name: string; fault: { how: string } | null; daemons: { state: string }[] }[] };
      const server02 = status.hosts.find((h) => h.name === 'server-02')!;
      assert.equal(server02.fault?.how, 'partition');
      assert.ok(server02.daemons.every((d) => d.state === 'ready'), 'the supervisor still looks after a partitioned host, and it is ready');
      assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /PARTITIONED from lb-01/);
      // Its replica is not cut off from the primary: a write through the LB reaches it.
      const key = `partitioned-${Date.now()}`;
      const write = request('POST', '/api/posts', { author: 'it', body: key });
      assert.equal(write.status, 201);
      assert.equal(write.headers['x-served-by'], 'server-01');
      const socket = join(home, stack, 'run', 'server-02', 'mariadb', 'mysqld.sock');
      const onReplica = () => inHost(stack, 'server-02', 'mariadb', '-S', socket, '-N', '-e', `SELECT COUNT(*) FROM foobar.posts WHERE body = '${key}'`).stdout.trim();
      const replicated = Date.now() + 5_000;
      while (onReplica() !== '1') {
        assert.ok(Date.now() < replicated, 'the write reached the partitioned replica');
        await sleep(100);
      }
      const again = webstack('fail', 'server-02', '--stack', stack);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /server-02 is already failed \(partition/);

      expectOk(webstack('heal', 'server-02', '--stack', stack), 'heal');
      await waitForState('server-02', 'UP', 10_000);
      assert.equal(execFileSync('ip', ['netns', 'exec', lb.namespace, 'nft', 'list', 'tables'], { encoding: 'utf8' }).includes('webstack_partition'), false, 'the partition is gone from the LB');
    } finally {
      webstack('heal', 'lb-01', '--stack', stack);
    }
    const noSide = webstack('fail', 'lb-01', '--how', 'partition', '--stack', stack);
    assert.equal(noSide.code, 2);
    assert.match(noSide.stderr, /a partition has two sides/);
    const bothSides = webstack('fail', 'lb-01', '--how', 'partition', '--to', 'lb-01,server-01', '--stack', stack);
    assert.equal(bothSides.code, 2);
    assert.match(bothSides.stderr, /lb-01 cannot be on both sides/);
  });

  test('trace shows a static file served by nginx with no app step, a new client\'s read from the replica, a write to the primary, and the same client\'s next read from the primary for read-your-writes', () => {
    const traced = (...args: string[]) => {
      const run = webstack('trace', ...args, '--stack', stack, '--json');
      assert.equal(run.code, 0, run.stderr || run.stdout);
      return JSON.parse(run.stdout) as Trace;
    };
    const step = (t: Trace, kind: string) => t.steps.find((s) => s.step === kind);

    const file = traced(`${www}/static/style.css`);
    assert.deepEqual(file.steps.map((s) => s.step), ['resolve', 'connect', 'balance', 'web', 'answer']);
    assert.match(step(file, 'resolve')!.said, /www\.foobar\.com is 203\.0\.113\.42 \(TTL \d+ s\), answered by dns/);
    assert.match(step(file, 'connect')!.said, /to 203\.0\.113\.42 \(lb-01\), plain HTTP, HTTP\/1\.1/);
    assert.match(step(file, 'balance')!.said, /load balancer lb-01: chose server-0[12] by roundrobin/);
    assert.match(step(file, 'web')!.said, /nginx on server-0[12]: served the file itself \(200/);
    assert.ok(file.steps.every((s) => s.observed && (s.step === 'connect' || s.step === 'answer' || s.evidence.length > 0)), 'each step with its evidence');

    const read = traced(`${www}/api/posts`);
    assert.deepEqual(read.steps.map((s) => s.step), ['resolve', 'connect', 'balance', 'web', 'app', 'answer']);
    assert.match(step(read, 'app')!.said, /read from server-02/);
    assert.match(step(read, 'app')!.why!, /a replica is up to date/);
    assert.match(step(read, 'web')!.said, /passed it to the application server on server-0[12]/);

    const write = traced(`${www}/api/posts`, '--data', JSON.stringify({ author: 'trace', body: `traced ${Date.now()}` }));
    assert.match(step(write, 'app')!.said, /POST \/api\/posts answered 201 .*written to server-01, acknowledged: committed on the primary/);
    assert.ok(write.setCookies.length > 0, 'the write set the read-your-writes cookie');
    const again = traced(`${www}/api/posts`, '--session', write.setCookies.join('; '));
    assert.match(step(again, 'app')!.said, /read from server-01/);
    assert.match(step(again, 'app')!.why!, /^read-your-writes/);
    assert.ok(again.waterfall.length === 4 && again.waterfall[0]!.ms >= again.waterfall[1]!.ms, JSON.stringify(again.waterfall));

    const text = webstack('trace', `${www}/api/posts`, '--stack', stack);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^1\. DNS: /m);
    assert.match(text.stdout, /^3\. load balancer lb-01: chose/m);
    assert.match(text.stdout, /time at each hop:/);
  });

  test('trace with a server failed shows the healthy server chosen and the other down; with both failed it stops at the LB, saying it had no healthy server', async () => {
    try {
      expectOk(webstack('fail', 'server-02', '--stack', stack), 'fail');
      await waitForState('server-02', 'DOWN', 5_000);
      const one = JSON.parse(expectOk(webstack('trace', `${www}/`, '--stack', stack, '--json'), 'trace').stdout) as Trace;
      const balance = one.steps.find((s) => s.step === 'balance')!;
      assert.match(balance.said, /chose server-01/);
      assert.match(balance.why!, /server-02 DOWN/);
      expectOk(webstack('fail', 'server-01', '--stack', stack), 'fail');
      await waitForState('server-01', 'DOWN', 5_000);
      const none = webstack('trace', `${www}/`, '--stack', stack, '--json');
      assert.equal(none.code, 1);
      const stopped = JSON.parse(none.stdout) as Trace;
      assert.equal(stopped.ok, false);
      assert.deepEqual(stopped.stopped?.step, 'balance');
      assert.match(stopped.stopped!.why, /lb-01 had no healthy server \(server-01 DOWN, server-02 DOWN\)/);
      assert.match(webstack('trace', `${www}/`, '--stack', stack).stdout, /✗ stopped at balance: lb-01 had no healthy server/);
    } finally {
      webstack('heal', 'server-01', '--stack', stack);
      webstack('heal', 'server-02', '--stack', stack);
      await waitForState('server-01', 'UP', 10_000).catch(() => undefined);
      await waitForState('server-02', 'UP', 10_000).catch(() => undefined);
    }
  });

  test('ten design changes applied under constant load fail no request and reload only the daemons whose config changed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-changes-'));
    const blueprint = parse(readFileSync(blueprintFile('distributed'), 'utf8'));
    const variants: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['leastconn', { lb: { algorithm: 'leastconn' } }, {}],
      ['interval 400 ms', { lb: { algorithm: 'leastconn' }, healthChecks: { intervalMs: 400 } }, {}],
      ['TTL 120', { lb: { algorithm: 'leastconn' }, healthChecks: { intervalMs: 400 } }, { ttl: 120 }],
      ['roundrobin', { healthChecks: { intervalMs: 400 } }, { ttl: 120 }],
      ['fall 3', { healthChecks: { intervalMs: 400, fall: 3 } }, { ttl: 120 }],
      ['TTL 60', { healthChecks: { intervalMs: 400, fall: 3 } }, { ttl: 60 }],
      ['interval 600 ms', { healthChecks: { intervalMs: 600, fall: 3 } }, { ttl: 60 }],
      ['rise 3', { healthChecks: { intervalMs: 600, fall: 3, rise: 3 } }, { ttl: 60 }],
      ['TTL 200', { healthChecks: { intervalMs: 600, fall: 3, rise: 3 } }, { ttl: 200 }],
      ['as the blueprint', {}, {}],
    ];
    const pidsOf = () => {
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
      return Object.fromEntries(status.hosts.flatMap((h: { name: string; daemons: { name: string; pid: number; reloads: number }[] }) => h.daemons.map((d) => [`${h.name}/${d.name}`, { pid: d.pid, reloads: d.reloads }])));
    };
    try {
      const before = pidsOf();
      const applied: string[] = [];
      const result = await underLoad(async () => {
        for (const [i, [title, policies, dns]] of variants.entries()) {
          const file = join(dir, `change-${i}.yaml`);
          writeFileSync(file, stringify({ ...blueprint, policies: { ...blueprint.policies, ...policies }, ...(Object.keys(dns).length ? { dns } : {}) }));
          const run = expectOk(webstack('up', file, '--name', stack), `change ${title}`);
          applied.push(`${title}: ${run.stdout.trim().split('\n').slice(1).join('; ')}`);
        }
      }, 6000);
      t.diagnostic(applied.join('\n'));
      t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
      assert.equal(result.failed, 0, JSON.stringify(result));
      const after = pidsOf();
      for (const daemon of Object.keys(before)) assert.equal(after[daemon].pid, before[daemon].pid, `${daemon} was not restarted`);
      // HAProxy took seven changes (all but the TTLs), Knot four (the TTLs and the last), nobody else any.
      assert.equal(after['lb-01/haproxy'].reloads - before['lb-01/haproxy'].reloads, 7);
      assert.equal(after['dns/dns'].reloads - before['dns/dns'].reloads, 4);
      for (const daemon of Object.keys(before).filter((d) => !['lb-01/haproxy', 'dns/dns'].includes(d))) assert.equal(after[daemon].reloads, before[daemon].reloads, `${daemon} was left alone`);
      assert.match(expectOk(inHost(stack, 'client', 'dig', '+noall', '+answer', 'www.foobar.com'), 'dig').stdout, /\s300\s+IN\s+A\s/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a change that HAProxy refuses is refused in HAProxy's words, and the stack keeps serving the old config", () => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-bad-'));
    try {
      const blueprint = parse(readFileSync(blueprintFile('distributed'), 'utf8'));
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, stringify({ ...blueprint, policies: { ...blueprint.policies, healthChecks: { path: '/he alth' } } }));
      const generation = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout).generation;
      const refused = webstack('up', file, '--name', stack);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /haproxy on lb-01 refused its new config/);
      assert.match(refused.stderr, /\[ALERT\].*'http-check send'/);
      assert.match(refused.stderr, /Nothing was changed\./);
      assert.equal(JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout).generation, generation);
      assert.equal(request('GET', '/api/posts').status, 200);
      assert.match(readFileSync(join(home, stack, 'config', 'lb-01', 'haproxy', 'haproxy.cfg'), 'utf8'), /uri \/healthz /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("after the load balancer is killed and healed, its log shows the new requests", () => {
    try {
      expectOk(webstack('fail', 'lb-01', '--stack', stack), 'fail');
      expectOk(webstack('heal', 'lb-01', '--stack', stack), 'heal');
    } finally {
      webstack('heal', 'lb-01', '--stack', stack);
    }
    const marker = `/after-heal-${Date.now()}`;
    request('GET', marker);
    assert.match(expectOk(webstack('logs', 'lb-01', 'haproxy', '--stack', stack, '-n', '20'), 'logs').stdout, new RegExp(`GET ${marker} HTTP`));
  });

  test('overloaded by 400 connections, the stack degrades rather than cascades: no server is marked down, nothing fails, and throughput holds', async (t) => {
    const closed = (connections: number, requests: number) => loadFrom(home, stack, { from: 'client', urls: [`${www}/api/posts`], requests, rate: 1, connections, timeoutS: 30, closed: true }, namespaceTarget);
    const wentDown = () => ['server-01', 'server-02'].map((s) => Number(serverStat(s, 'chkdown')));
    const downBefore = wentDown();
    const baseline = await closed(20, 5000);
    // About 20 s at the rate 20 connections manage.
    const overload = await closed(400, Math.min(40_000, Math.round(baseline.rps * 20)));
    t.diagnostic(`20 connections: ${baseline.rps}/s, p99 ${baseline.latencyMs.p99} ms; 400 connections: ${overload.rps}/s for ${overload.durationS} s, p50 ${overload.latencyMs.p50} ms, p99 ${overload.latencyMs.p99} ms, max ${overload.latencyMs.max} ms; ${JSON.stringify(overload.statuses)}`);
    assert.deepEqual(wentDown(), downBefore, 'no server was marked down');
    // Every request answered 200: no 503 from HAProxy's queue, nor from an app that took its own load for a dead database.
    assert.deepEqual(Object.keys(overload.statuses), ['200']);
    assert.equal(overload.failed, 0);
    assert.ok(overload.rps >= baseline.rps * 0.8, `throughput at 400 connections (${overload.rps}/s) within 20% of that at 20 (${baseline.rps}/s)`);
  });

  test('writes under a frozen primary: none the client was told was refused is stored, and one of unknown outcome, sent again with its key, is stored once', async (t) => {
    const run = Date.now().toString(36);
    const writes = await whileWriting(stack, `${www}/api/posts`, 60, run, async () => {
      try {
        expectOk(webstack('fail', 'server-01', '--how', 'freeze', '--stack', stack), 'fail');
        await sleep(3000);
        expectOk(webstack('heal', 'server-01', '--stack', stack), 'heal');
      } finally {
        webstack('heal', 'server-01', '--stack', stack);
      }
    });
    // A write the frozen primary had in hand runs when it thaws, if it runs at all: give it the time.
    await sleep(2000);
    const outcomes = new Map(writes.map((w) => [w.key, w.status]));
    const stored = () => storedOnPrimary(`w-%-${run}`);
    const before = stored();
    const by = (codes: string[]) => [...outcomes].filter(([, code]) => codes.includes(code)).map(([key]) => key);
    const refused = by(['503']);
    const unknown = by(['504', '502', '000']);
    t.diagnostic(`${outcomes.size} writes: ${by(['201']).length} stored (201), ${refused.length} refused (503), ${unknown.length} of unknown outcome (504 and the like); ${before.size} rows`);
    assert.equal(outcomes.size, 60);
    assert.ok(refused.length + unknown.length > 0, 'the freeze cost some writes');
    for (const key of by(['201'])) assert.ok(before.has(key), `${key} was acknowledged and is stored`);
    for (const key of refused) assert.ok(!before.has(key), `${key} was refused, and is not stored`);
    // Sent again with its key: stored once, whatever became of the first attempt.
    for (const key of unknown) assert.equal(writeAgain(stack, `${www}/api/posts`, key), '201', key);
    const after = stored();
    for (const key of unknown) assert.ok(after.has(key), `${key} is stored after its retry`);
    assert.equal(after.size, before.size + unknown.filter((k) => !before.has(k)).length, 'each key is one row');
  });

  test('promote server-02 under writes loses none and restarts nothing; with server-02 then killed, promoting server-01 back is refused until forced, and healed, server-02 follows it', async (t) => {
    const sql = (host: string, statement: string) => expectOk(inHost(stack, host, 'mariadb', '-S', join(home, stack, 'run', host, 'mariadb', 'mysqld.sock'), '-N', '-e', statement), `${statement} on ${host}`).stdout.trim();
    const appPids = () => JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout).hosts.flatMap((h: { daemons: { name: string; pid: number }[] }) => h.daemons.filter((d) => d.name === 'app').map((d) => d.pid));
    const pidsBefore = appPids();
    const run = Date.now().toString(36);
    let said = '';
    try {
      const writes = await whileWriting(stack, `${www}/api/posts`, 100, run, async () => {
        said = expectOk(webstack('promote', 'server-02', '--stack', stack), 'promote').stdout;
      });
      const acknowledged = writes.filter((w) => w.status === '201').map((w) => w.key);
      const refused = writes.filter((w) => w.status === '503').map((w) => w.key);
      t.diagnostic(`${said.match(/writes paused \d+ ms/)?.[0]}; ${writes.length} writes: ${acknowledged.length} acknowledged, ${refused.length} refused, slowest ${Math.max(...writes.map((w) => w.tookMs))} ms`);
      assert.match(said, /✓ server-01 replicates from server-02\nit-dist: server-02 is the primary\./);
      assert.equal(acknowledged.length + refused.length, writes.length, `every write was acknowledged or refused, none of unknown outcome: ${JSON.stringify(writes.filter((w) => !['201', '503'].includes(w.status)))}`);
      assert.ok(acknowledged.length >= 95, `writes went on through the switchover (${acknowledged.length} of 100 acknowledged)`);
      assert.deepEqual([sql('server-01', 'SELECT @@global.read_only'), sql('server-02', 'SELECT @@global.read_only')], ['1', '0']);
      await sleep(1000);
      for (const server of ['server-01', 'server-02']) {
        const keys = storedKeys(stack, server, `w-%-${run}`);
        for (const key of acknowledged) assert.equal(keys.filter((k) => k === key).length, 1, `${key} was acknowledged, and ${server} holds it once`);
        for (const key of refused) assert.ok(!keys.includes(key), `${key} was refused, and ${server} does not hold it`);
      }
      assert.deepEqual(appPids(), pidsBefore, 'no app restarted');
      assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /server-01 mariadb: replica from 10\.71\.32\.12, running/);

      // The new primary dies: promoting the old one back would lose what it did not receive, so it takes --force.
      expectOk(webstack('fail', 'server-02', '--how', 'kill', '--stack', stack), 'fail');
      const refusedPromotion = webstack('promote', 'server-01', '--stack', stack);
      assert.equal(refusedPromotion.code, 1);
      assert.match(refusedPromotion.stderr, /server-02, the primary, does not answer \(failed on purpose \(kill\)\)\. server-01 had received every transaction in server-02's binary log \(up to 0-\d+-\d+\) and applied all of it: nothing is lost\./);
      assert.match(refusedPromotion.stderr, /fix: npx webstack promote server-01 --stack it-dist --force/);
      const forced = expectOk(webstack('promote', 'server-01', '--stack', stack, '--force'), 'promote --force').stdout;
      assert.match(forced, /server-02 will replicate from server-01 once healed/);
      assert.equal(request('POST', '/api/posts', { author: 'it', body: `after the forced promotion ${run}` }).status, 201);
      expectOk(webstack('heal', 'server-02', '--stack', stack), 'heal');
      assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /server-02 mariadb: replica from 10\.71\.32\.11, running/);
      assert.equal(sql('server-02', 'SELECT @@global.read_only'), '1');
    } finally {
      webstack('heal', 'server-02', '--stack', stack);
      // The stack as designed again, for whatever runs after.
      if (webstack('promote', 'server-01', '--stack', stack).code !== 0) webstack('promote', 'server-01', '--stack', stack, '--force');
    }
  });

  test('prove breaks every host each way (kill, freeze, cut, restart, partition) and agrees with check: the LB breaks everything, the primary writes only, the replica nothing; no write lost, no read-your-writes violation', async (t) => {
    const started = Date.now();
    const scratch = mkdtempSync(join(tmpdir(), 'webstack-prove-'));
    const reportFile = join(scratch, 'report.html');
    const run = webstack('prove', '--stack', stack, '--json', '--report', reportFile);
    const tookS = (Date.now() - started) / 1000;
    assert.equal(run.code, 0, run.stderr || run.stdout.slice(0, 2000));
    const report = JSON.parse(run.stdout) as ProveReport;
    const broken = (host: string) => report.verdict.filter((v) => v.host === host && v.predicted === 'breaks').map((v) => v.capability);
    t.diagnostic(`prove took ${tookS.toFixed(0)} s for ${report.faults.length} faults; writes: ${report.consistency.acknowledged} acknowledged, ${report.consistency.refused} refused, ${report.consistency.indeterminate} of unknown outcome`);
    assert.deepEqual([...new Set(report.faults.map((f) => f.host))], ['lb-01', 'server-01', 'server-02', 'dns']);
    assert.deepEqual([...new Set(report.faults.map((f) => f.how))], ['kill', 'freeze', 'cut', 'restart', 'partition']);
    assert.deepEqual(report.faults.filter((f) => f.how === 'partition').map((f) => `${f.host} from ${f.partition!.from.join(' and ')}`), ['lb-01 from client', 'server-01 from lb-01 and server-02', 'server-02 from lb-01 and server-01', 'dns from client']);
    assert.deepEqual(report.verdict.filter((v) => !v.agrees), []);
    assert.deepEqual(broken('lb-01'), ['static', 'read', 'write']);
    assert.deepEqual(broken('server-01'), ['write']);
    assert.deepEqual(broken('server-02'), []);
    for (const v of report.verdict.filter((r) => r.predicted === 'breaks')) assert.deepEqual(Object.values(v.observed), ['broken', 'broken', 'broken', 'broken', 'broken'], `${v.host} ${v.capability}`);
    assert.ok(report.consistency.acknowledged > 1000, 'writes were made throughout');
    assert.ok(report.consistency.servers.every((s) => s.missing.length === 0 && s.duplicated.length === 0 && s.refusedButStored.length === 0), JSON.stringify(report.consistency.servers));
    assert.deepEqual(report.consistency.readYourWritesViolations, []);
    assert.ok(tookS < 300, `prove of distributed took ${tookS} s`);
    const html = readFileSync(reportFile, 'utf8');
    rmSync(scratch, { recursive: true, force: true });
    assert.match(html, /<table id="verdict">/);
    assert.equal(html.match(/<div class="chart"><svg/g)?.length, report.faults.length, 'one chart per fault in the report');
  });
});
