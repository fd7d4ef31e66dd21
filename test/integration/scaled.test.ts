import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectOk, inHost, killInTurn, removeStack, SKIP_LAB, webstack, whileReading } from './lab-helpers.ts';

// scaled, the seeds' fourth stage: separate web, app and database tiers, and two active load
// balancers, each with its own A record (DNS round robin). What a client sees when one of them
// dies depends on the client: curl tries the next address when a connection is refused.

const stack = 'it-scaled';
const lbs = { 'lb-01': '203.0.113.106', 'lb-02': '203.0.113.107' } as const;

/** One request from the client with curl: the status and the address it was answered from. */
function request(): { status: string; from: string; seconds: number } {
  const out = expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '--connect-timeout', '2', '-w', '%{http_code} %{remote_ip} %{time_total}', 'https://www.foobar.com/api/posts'), 'GET').stdout;
  const [status, from, seconds] = out.trim().split(' ');
  return { status: status!, from: from!, seconds: Number(seconds) };
}

describe('scaled: separate tiers behind two load balancers listed in DNS', { skip: SKIP_LAB }, () => {
  before(() => {
    removeStack(stack);
    expectOk(webstack('up', 'scaled', '--name', stack), 'up');
  });
  after(() => removeStack(stack));

  test('the name has both load balancers, and each web server passes requests to every app server of the tier', () => {
    const answers = expectOk(inHost(stack, 'client', 'dig', '+short', 'www.foobar.com'), 'dig').stdout.trim().split('\n').sort();
    assert.deepEqual(answers, Object.values(lbs));
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const head = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', 'https://www.foobar.com/api/posts'), 'GET').stdout;
      served.add(/^x-served-by: (\S+)/im.exec(head)![1]!);
    }
    assert.deepEqual([...served].sort(), ['app-01', 'app-02']);
  });

  test('the primary commits semi-synchronously: its replica acknowledges every write before the app is told', () => {
    const status = expectOk(webstack('status', '--stack', stack), 'status').stdout;
    assert.match(status, /db-01 mariadb: primary, semi-sync on \(1 replica acknowledging\)/);
  });

  test('one load balancer killed: curl is refused at its address and tries the other, so every request still answers', (t) => {
    try {
      expectOk(webstack('fail', 'lb-01', '--stack', stack), 'fail lb-01');
      const results = Array.from({ length: 20 }, request);
      const slowest = Math.max(...results.map((r) => r.seconds));
      t.diagnostic(`20 requests after lb-01 died: ${results.filter((r) => r.status === '200').length} answered, all from ${[...new Set(results.map((r) => r.from))].join(', ')}, the slowest in ${slowest.toFixed(3)} s`);
      // Nothing fails for curl: a refused connection costs a round trip, not an error. A client
      // that keeps only the first address (or a browser that cached it) fails until it retries.
      assert.deepEqual([...new Set(results.map((r) => r.status))], ['200']);
      assert.deepEqual([...new Set(results.map((r) => r.from))], [lbs['lb-02']]);
      assert.ok(slowest < 1, `a refused address costs little: ${slowest} s`);
    } finally {
      webstack('heal', 'lb-01', '--stack', stack);
    }
  });

  test('a web server and an app server, each killed under constant reads, cost no failed request', async (t) => {
    const result = await whileReading(stack, 'https://www.foobar.com/api/posts', 16, () => killInTurn(stack, ['web-01', 'app-01']));
    t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result));
  });

  test('a rolling restart of the web tier under constant reads fails no request: each web server is drained at both load balancers first', async (t) => {
    const nginxPids = () => {
      const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
      return status.hosts.filter((h: { name: string }) => h.name.startsWith('web-')).map((h: { daemons: { name: string; pid: number }[] }) => h.daemons.find((d) => d.name === 'nginx')!.pid);
    };
    const before = nginxPids();
    let output = '';
    const result = await whileReading(stack, 'https://www.foobar.com/', 10, async () => {
      output = expectOk(webstack('deploy', '--stack', stack, '--tier', 'web'), 'deploy --tier web').stdout;
    });
    const after = nginxPids();
    assert.ok(after.every((pid: number, i: number) => pid !== before[i]), `every nginx is a new process: ${before} → ${after}`);
    t.diagnostic(output.trim());
    t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
    assert.match(output, /✓ web-01: restarted[\s\S]*✓ web-02: restarted/);
    assert.equal(result.failed, 0, JSON.stringify(result));
  });
});
