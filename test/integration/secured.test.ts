import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { blueprintFile } from '../../src/blueprints/index.ts';
import type { AuditReport } from '../../src/lab/audit.ts';
import { loadFrom } from '../../src/lab/load.ts';
import { namespaceTarget } from '../../src/lab/target.ts';
import { repoRoot } from '../helpers.ts';
import { alertArrives, alertStories, everyTargetUp, prometheusQuery, waitFor, expectOk, home, inHost, removeStack, SKIP_LAB, webstack } from './lab-helpers.ts';

// The seeds' third stage, firewalled for real: every host's nftables ruleset comes from the
// design's flows, and audit proves it with nmap from the client and from every tier. One stack
// for the file; what a test changes it puts back in `finally`.

const stack = 'it-sec';
const www = 'http://www.foobar.com';
const lbPublic = '203.0.113.74';
const lbPrivate = '10.71.64.10';

/** Whether a TCP connection from inside `host` to address:port is accepted within 1 s (a dropped SYN is never answered; on the lab's links an accepted one is answered at once). */
function connects(host: string, address: string, port: number): boolean {
  return inHost(stack, host, 'timeout', '1', 'bash', '-c', `echo > /dev/tcp/${address}/${port}`).code === 0;
}

function firewallOf(host: string): { loaded: boolean; refusedIn: number; refusedOut: number; recentIn: { address: string; port: number }[]; recentOut: { address: string; port: number }[] } {
  const status = JSON.parse(expectOk(webstack('status', '--stack', stack, '--json'), 'status').stdout);
  return status.hosts.find((h: { name: string }) => h.name === host).firewall;
}

function auditReport(): { code: number; report: AuditReport } {
  const run = webstack('audit', '--stack', stack, '--json');
  return { code: run.code, report: JSON.parse(run.stdout) as AuditReport };
}

describe('nftables accepts every ruleset webstack renders', { skip: SKIP_LAB }, () => {
  test('every golden firewall of every blueprint passes nft -c', () => {
    const files = readdirSync(join(repoRoot, 'test/golden'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('firewall.nft'));
    assert.ok(files.length >= 20, `${files.length} rulesets`);
    for (const file of files) execFileSync('nft', ['-c', '-f', join(repoRoot, 'test/golden', file)], { stdio: 'pipe' });
  });
});

describe('secured: a firewall on every host, from the flows, proven by audit', { skip: SKIP_LAB }, () => {
  before(() => {
    removeStack(stack);
    expectOk(webstack('up', 'secured', '--name', stack), 'up');
  });
  after(() => removeStack(stack));

  test('audit finds every designed flow answering and nothing else, from the client and from every tier', (t) => {
    const { code, report } = auditReport();
    t.diagnostic(`${report.scans.length} scans, ${report.failures} failures, ${report.pending} pending`);
    assert.equal(code, 0, JSON.stringify(report.scans.filter((s) => s.verdicts.some((v) => v.verdict === 'fail'))));
    assert.equal(report.failures, 0);
    assert.deepEqual([...new Set(report.scans.map((s) => s.from))], ['client', 'lb-01', 'server-01', 'server-02', 'mon-01']);
    const verdict = (from: string, to: string, port: number) => report.scans.find((s) => s.from === from && s.to === to)?.verdicts.find((v) => v.port === port)?.verdict;
    assert.equal(verdict('client', 'lb-01', 80), 'pass');
    assert.equal(verdict('lb-01', 'server-01', 80), 'pass');
    assert.equal(verdict('server-02', 'server-01', 3306), 'pass');
    assert.equal(verdict('mon-01', 'lb-01', 8404), 'pass');
    // Nothing answers the client but the entry's HTTP and HTTPS ports.
    assert.deepEqual(report.scans.filter((s) => s.from === 'client').flatMap((s) => s.verdicts.filter((v) => v.state === 'open').map((v) => v.port)), [80, 443]);
    // testssl.sh, from the client: TLS 1.2 and 1.3 only, no weak cipher, HSTS, the chain verified.
    assert.deepEqual(report.tls?.checks.filter((c) => c.verdict !== 'note').map((c) => `${c.what} ${c.verdict}`), ['protocols pass', 'ciphers pass', 'HTTP/2 pass', 'HSTS pass', 'certificate chain pass', 'certificate names pass']);
  });

  test('from the client, HTTP is sent to HTTPS, and HTTPS answers with HTTP/2 and HSTS, verified against the lab root without -k', () => {
    const redirect = expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `${www}/`), 'GET http').stdout;
    assert.equal(redirect, '301 https://www.foobar.com/');
    const https = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', '-w', '%{http_version} %{ssl_verify_result}', 'https://www.foobar.com/'), 'GET https').stdout;
    assert.match(https, /^HTTP\/2 200/);
    assert.match(https, /^strict-transport-security: max-age=31536000\r?$/im);
    assert.match(https, /2 0$/, 'HTTP/2, and the certificate verified');
    // The public entry says whether it can serve, and no more; the details stay on the private side.
    assert.equal(expectOk(inHost(stack, 'client', 'curl', '-s', 'https://www.foobar.com/healthz'), 'public healthz').stdout, 'ok');
    const inside = JSON.parse(expectOk(inHost(stack, 'lb-01', 'curl', '-s', 'http://10.71.64.11/healthz'), 'private healthz').stdout);
    assert.equal(inside.status, 'ok');
    assert.ok(Array.isArray(inside.databases) || typeof inside.databases === 'object', JSON.stringify(inside));
    const certs = JSON.parse(expectOk(webstack('certs', '--stack', stack, '--json'), 'certs').stdout);
    assert.deepEqual(certs.map((c: { holder: string; names: string[] }) => [c.holder, c.names]), [['lb-01', ['www.foobar.com']]]);
    assert.match(certs[0].issuer, /Pebble/);
  });

  test('a forced renewal under constant load fails no request, and the served certificate changes', async (t) => {
    const served = () => expectOk(inHost(stack, 'client', 'bash', '-c', 'echo | openssl s_client -connect www.foobar.com:443 -servername www.foobar.com 2>/dev/null | openssl x509 -noout -serial'), 'serial').stdout.trim();
    const before = served();
    const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/', 'https://www.foobar.com/api/posts'], requests: 2000, rate: 100, connections: 20, timeoutS: 10 }, namespaceTarget);
    await sleep(1500);
    const renewed = expectOk(webstack('certs', '--renew', '--stack', stack), 'renew').stdout;
    const result = await load;
    t.diagnostic(`${renewed.trim().split('\n')[0]}; ${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
    assert.equal(result.failed, 0, JSON.stringify(result));
    assert.deepEqual(Object.keys(result.statuses), ['200']);
    const after = served();
    assert.notEqual(after, before);
    assert.match(renewed, new RegExp(`serial ${before.replace('serial=', '')} → ${after.replace('serial=', '')}`));
  });

  test("a renewal with the CA down fails with the ACME client's own error, and the old certificate stays served", () => {
    const served = () => expectOk(inHost(stack, 'client', 'bash', '-c', 'echo | openssl s_client -connect www.foobar.com:443 -servername www.foobar.com 2>/dev/null | openssl x509 -noout -serial'), 'serial').stdout.trim();
    const before = served();
    try {
      expectOk(webstack('fail', 'acme', '--stack', stack), 'fail the CA');
      const renew = webstack('certs', '--renew', '--stack', stack);
      assert.equal(renew.code, 1);
      assert.match(renew.stderr, /the ACME client on lb-01 could not renew \(`bash \S+acme\.sh renew`, status \d+\):/);
      assert.match(renew.stderr, /connection refused|acme: error|Could not/i);
      assert.equal(served(), before);
    } finally {
      webstack('heal', 'acme', '--stack', stack);
    }
    // The CA's new root is added to the client's, so the certificate issued before still verifies.
    assert.equal(expectOk(inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'https://www.foobar.com/'), 'GET after').stdout, '200');
  });

  test("Prometheus on mon-01 scrapes every exporter, HAProxy, the apps, its Alertmanager, itself and the uptime probe, and every target is up", async () => {
    const targets = await everyTargetUp(stack, 'mon-01', '127.0.0.1');
    assert.deepEqual(targets.map((t) => `${t.job} ${t.host ?? t.instance}`).sort(), [
      'alertmanager mon-01',
      'app server-01',
      'app server-02',
      'haproxy lb-01',
      'mysqld-exporter server-01',
      'mysqld-exporter server-02',
      'nginx-exporter server-01',
      'nginx-exporter server-02',
      'node-exporter lb-01',
      'node-exporter mon-01',
      'node-exporter server-01',
      'node-exporter server-02',
      'prometheus mon-01',
      'uptime https://www.foobar.com/',
      'uptime-dns 203.0.113.67',
    ]);
  });

  test('a web server killed under load: instance-down and backend-down reach the receiver once each, then resolve after heal', async (t) => {
    await alertArrives(stack, 'the watchdog', (a) => a.name === 'Watchdog');
    const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/', 'https://www.foobar.com/api/posts'], requests: 6000, rate: 100, connections: 10, timeoutS: 10 }, namespaceTarget);
    const failedAt = Date.now();
    try {
      expectOk(webstack('fail', 'server-02', '--stack', stack), 'fail server-02');
      const backend = await alertArrives(stack, 'BackendDown for server-02', (a) => a.name === 'BackendDown' && a.labels.server === 'server-02');
      const instance = await alertArrives(stack, 'InstanceDown on server-02', (a) => a.name === 'InstanceDown' && a.labels.host === 'server-02');
      t.diagnostic(`from fail to the receiver: BackendDown ${Date.parse(backend.notifiedAt) - failedAt} ms, InstanceDown ${Date.parse(instance.notifiedAt) - failedAt} ms`);
      expectOk(webstack('heal', 'server-02', '--stack', stack), 'heal server-02');
      const aboutServer02 = () => alertStories(stack).filter((a) => a.labels.host === 'server-02' || a.labels.server === 'server-02');
      const stories = await waitFor('resolved notification for every server-02 alert', () => (aboutServer02().every((a) => a.status === 'resolved') ? aboutServer02() : undefined), 60_000, () => JSON.stringify(aboutServer02()));
      assert.ok(stories.length >= 2, JSON.stringify(stories));
      for (const story of stories) {
        assert.equal(story.firingNotifications, 1, `${story.name} ${story.subject} told once`);
        assert.ok(story.resolvedAt, `${story.name} ${story.subject} resolved`);
      }
    } finally {
      webstack('heal', 'server-02', '--stack', stack);
      await load;
    }
  });

  test('under a small load every recording rule has data: requests per second per tier and host, error ratio, latency percentiles', async () => {
    const rules = readFileSync(join(home, stack, 'config', 'mon-01', 'prometheus', 'rules.yml'), 'utf8');
    const records = [...new Set([...rules.matchAll(/record: (\S+)/g)].map((m) => m[1]!))];
    assert.ok(records.length >= 6, records.join(' '));
    const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/', 'https://www.foobar.com/api/posts'], requests: 2000, rate: 50, connections: 5, timeoutS: 10 }, namespaceTarget);
    try {
      const empty = () => records.filter((r) => prometheusQuery(stack, 'mon-01', '127.0.0.1', r).length === 0);
      await waitFor('data for every recording rule', () => (empty().length === 0 ? true : undefined), 60_000, () => `; still empty: ${empty().join(', ')}`);
      const tiers = prometheusQuery(stack, 'mon-01', '127.0.0.1', 'tier:http_requests:rate1m').map((r) => r.metric.tier).sort();
      assert.deepEqual(tiers, ['app', 'lb', 'web']);
    } finally {
      await load;
    }
  });

  test("the MariaDB exporter's user reads status and replication, and no post", () => {
    const asExporter = (sql: string) => inHost(stack, 'server-02', 'mariadb', `--defaults-file=${join(home, stack, 'config', 'server-02', 'mysqld-exporter', 'my.cnf')}`, '-e', sql);
    assert.match(expectOk(asExporter('SELECT @@read_only AS ro'), 'read_only').stdout, /^ro\n1$/m);
    assert.match(expectOk(asExporter('SHOW SLAVE STATUS\\G'), 'slave status').stdout, /Slave_IO_Running: Yes/);
    const denied = asExporter('SELECT COUNT(*) FROM foobar.posts');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied/i);
  });

  test('the load balancer killed: the uptime probe on the internet side tells of the site down', async (t) => {
    try {
      const failedAt = Date.now();
      expectOk(webstack('fail', 'lb-01', '--stack', stack), 'fail lb-01');
      const down = await alertArrives(stack, 'SiteDown', (a) => a.name === 'SiteDown' && a.status === 'firing');
      t.diagnostic(`SiteDown at the receiver ${Date.parse(down.notifiedAt) - failedAt} ms after the fail`);
      assert.equal(down.labels.instance, 'https://www.foobar.com/');
      expectOk(webstack('heal', 'lb-01', '--stack', stack), 'heal lb-01');
      await alertArrives(stack, 'SiteDown resolved', (a) => a.name === 'SiteDown' && a.status === 'resolved');
    } finally {
      webstack('heal', 'lb-01', '--stack', stack);
    }
  });

  test("one request's id, made at the load balancer, is in the LB's, nginx's and the app's lines in one place, with the database that answered", async () => {
    const head = expectOk(inHost(stack, 'client', 'curl', '-s', '-D', '-', '-o', '/dev/null', 'https://www.foobar.com/api/posts'), 'GET /api/posts').stdout;
    const id = /^x-request-id: (\S+)/im.exec(head)?.[1];
    assert.ok(id, head);
    const lines = await waitFor(
      'three lines for the request',
      () => {
        const found = JSON.parse(expectOk(webstack('logs', '--request', id, '--stack', stack, '--json'), 'logs --request').stdout) as { host: string; program: string; message: string }[];
        return found.length >= 3 ? found : undefined;
      },
      15_000,
    );
    assert.deepEqual(lines.map((l) => l.program).sort(), ['app', 'haproxy', 'nginx']);
    const app = lines.find((l) => l.program === 'app')!;
    assert.equal(lines.find((l) => l.program === 'haproxy')!.host, 'lb-01');
    assert.equal(lines.find((l) => l.program === 'nginx')!.host, app.host, 'nginx passed it to the app on its own host');
    assert.match(app.message, /"readFrom":"server-0[12]"/);
    assert.match(expectOk(webstack('logs', '--all', '--since', '1m', '--stack', stack), 'logs --all').stdout, new RegExp(id));
  });

  test('a stray listener on a host fails audit, named with its port and program', async () => {
    const stray = spawn('ip', ['netns', 'exec', `${stack}-server-01`, process.execPath, '-e', "require('net').createServer().listen(5555, '0.0.0.0')"], { stdio: 'ignore' });
    try {
      await sleep(700);
      const { code, report } = auditReport();
      assert.equal(code, 1);
      const failed = report.listening.flatMap((l) => l.verdicts.filter((v) => v.verdict === 'fail').map((v) => `${l.host} ${v.port} ${v.why}`));
      assert.deepEqual(failed, ['server-01 5555 node listens on 0.0.0.0:5555, which no daemon of the design declares']);
      assert.equal(report.failures, 1, 'the firewall hides it from every scanner');
    } finally {
      stray.kill('SIGKILL');
    }
  });

  test('the database, the stats page and the exporters are unreachable from the client, even routed at the private side', () => {
    assert.ok(connects('client', lbPublic, 80) && connects('client', lbPublic, 443), 'the entry answers');
    for (const port of [3306, 8404, 9100]) assert.ok(!connects('client', lbPublic, port), `${port} on the entry`);
    const before = firewallOf('lb-01').refusedIn;
    // A neighbour on the public segment routes the LB's private address through its public interface.
    expectOk(inHost(stack, 'client', 'ip', 'route', 'add', '10.71.64.0/24', 'via', lbPublic), 'route');
    try {
      assert.ok(!connects('client', lbPrivate, 8404), 'stats through the public interface');
      assert.ok(!connects('client', '10.71.64.11', 3306), 'the database through the LB');
    } finally {
      inHost(stack, 'client', 'ip', 'route', 'del', '10.71.64.0/24');
    }
    assert.ok(firewallOf('lb-01').refusedIn > before, 'the refusals are counted');
  });

  test('egress is limited too: a web server cannot reach the stats page, a load balancer cannot reach a database', () => {
    assert.ok(connects('server-01', '10.71.64.12', 3306), 'the app reads from the replica');
    assert.ok(connects('lb-01', '10.71.64.11', 80), 'the LB reaches nginx');
    assert.ok(!connects('server-01', lbPrivate, 8404), 'web → stats');
    assert.ok(!connects('lb-01', '10.71.64.11', 3306), 'lb → database');
    assert.ok(!connects('server-01', '10.71.64.13', 22), 'web → monitoring');
    const firewall = firewallOf('lb-01');
    assert.equal(firewall.loaded, true);
    assert.ok(firewall.recentOut.some((r) => r.address === '10.71.64.11' && r.port === 3306), JSON.stringify(firewall.recentOut));
    assert.match(expectOk(webstack('status', '--stack', stack), 'status').stdout, /firewalls:\n {2}lb-01: loaded; refused \d+ packets in, \d+ out/);
  });

  test('a changed design swaps the rulesets in one transaction under load, failing no request', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-firewall-'));
    const blueprint = parse(readFileSync(blueprintFile('secured'), 'utf8'));
    try {
      const load = loadFrom(home, stack, { from: 'client', urls: ['https://www.foobar.com/', 'https://www.foobar.com/api/posts'], requests: 1500, rate: 150, connections: 20, timeoutS: 10 }, namespaceTarget);
      await sleep(1000);
      const changed = join(dir, 'lb-unmonitored.yaml');
      writeFileSync(changed, stringify({ ...blueprint, hosts: { ...blueprint.hosts, 'lb-01': { ...blueprint.hosts['lb-01'], monitored: false } } }));
      const swapped = expectOk(webstack('up', changed, '--name', stack), 'up with lb-01 unmonitored').stdout;
      assert.match(swapped, /~ lb-01\/firewall replaced\n {2}~ mon-01\/firewall replaced/);
      assert.doesNotMatch(swapped, /server-01\/firewall/);
      // Only the firewalls, the LB (its log targets), Prometheus and the exporter change: no server restarts under the load.
      assert.doesNotMatch(swapped, /restarted/, swapped);
      expectOk(webstack('up', 'secured', '--name', stack), 'up as designed');
      const result = await load;
      t.diagnostic(`${result.requests} requests, ${result.failed} failed, p99 ${result.latencyMs.p99} ms`);
      assert.equal(result.failed, 0, JSON.stringify(result));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      webstack('up', 'secured', '--name', stack);
    }
  });

  test('cutting a firewalled host and healing it brings its traffic back within the health checks\' rise', async () => {
    try {
      expectOk(webstack('fail', 'lb-01', '--how', 'cut', '--stack', stack), 'fail');
      assert.ok(!connects('client', lbPublic, 80));
      expectOk(webstack('heal', 'lb-01', '--stack', stack), 'heal');
      // While cut, the LB's checks failed and took its servers out; two passing checks (1 s) bring them back.
      const healed = Date.now();
      const status = () => inHost(stack, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', 'https://www.foobar.com/').stdout;
      await waitFor('200 from the healed LB', () => (status() === '200' ? true : undefined), 5_000, () => `; it answers ${status()}`);
      assert.ok(Date.now() - healed < 5_000);
    } finally {
      webstack('heal', 'lb-01', '--stack', stack);
    }
  });
});

describe('secured with TLS end to end: HTTPS to nginx, and MySQL over TLS only', { skip: SKIP_LAB }, () => {
  const e2e = 'it-e2e';
  const dir = mkdtempSync(join(tmpdir(), 'webstack-e2e-'));
  const design = join(dir, 'e2e.yaml');
  const mariadb = (host: string, ...args: string[]) => inHost(e2e, host, 'mariadb', ...args);
  before(() => {
    removeStack(e2e);
    const blueprint = parse(readFileSync(blueprintFile('secured'), 'utf8'));
    writeFileSync(design, stringify({ ...blueprint, policies: { ...blueprint.policies, tls: { mode: 'end-to-end' } } }));
    expectOk(webstack('up', design, '--name', e2e), 'up');
  });
  after(() => {
    removeStack(e2e);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a plain connection to MariaDB is refused; a verified TLS one works; the app and replication use TLS', () => {
    const secrets = JSON.parse(readFileSync(join(home, e2e, 'volumes', 'secrets.json'), 'utf8'));
    const ca = join(home, e2e, 'volumes', 'ca', 'ca.pem');
    const login = ['-h', '10.71.64.11', '-u', 'foobar', `-p${secrets.dbPassword}`];
    const plain = mariadb('server-02', ...login, '--skip-ssl', '-e', 'SELECT 1');
    assert.notEqual(plain.code, 0, 'a plain-text login is refused');
    const tls = expectOk(mariadb('server-02', ...login, '--ssl', `--ssl-ca=${ca}`, '--ssl-verify-server-cert', '-N', '-e', "SHOW STATUS LIKE 'Ssl_cipher'"), 'TLS login').stdout;
    assert.match(tls, /^Ssl_cipher\s+TLS_/m);
    // The app works, so its connections are TLS: the server takes no other.
    assert.equal(expectOk(inHost(e2e, 'client', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'https://www.foobar.com/api/posts'), 'GET').stdout, '200');
    const accepted = expectOk(inHost(e2e, 'server-01', 'mariadb', `--defaults-file=${join(home, e2e, 'config', 'server-01', 'mariadb', 'my.cnf')}`, '-N', '-e', "SHOW GLOBAL STATUS LIKE 'Ssl_accepts'"), 'status').stdout;
    assert.ok(Number(accepted.trim().split(/\s+/)[1]) > 0, accepted);
    const replica = expectOk(inHost(e2e, 'server-02', 'mariadb', `--defaults-file=${join(home, e2e, 'config', 'server-02', 'mariadb', 'my.cnf')}`, '-e', 'SHOW SLAVE STATUS\\G'), 'replica').stdout;
    assert.match(replica, /Slave_IO_Running: Yes/);
    assert.match(replica, /Master_SSL_Allowed: Yes/);
    assert.match(replica, /Master_SSL_Verify_Server_Cert: Yes/);
    // The app says how it is connected to each database: over TLS, with the cipher.
    const health = JSON.parse(expectOk(inHost(e2e, 'lb-01', 'curl', '-s', '--cacert', ca, 'https://10.71.64.11/healthz'), 'private healthz').stdout);
    assert.deepEqual(health.databases.map((d: { host: string; tlsCipher: string }) => [d.host, /^TLS_/.test(d.tlsCipher)]), [['server-01', true], ['server-02', true]]);
  });

  test('the load balancer reaches nginx over HTTPS, verified against the stack CA, and not over HTTP', () => {
    const ca = join(home, e2e, 'volumes', 'ca', 'ca.pem');
    assert.equal(expectOk(inHost(e2e, 'lb-01', 'curl', '-s', '--cacert', ca, '-o', '/dev/null', '-w', '%{http_code}', 'https://10.71.64.11/static/style.css'), 'HTTPS to nginx').stdout, '200');
    assert.notEqual(inHost(e2e, 'lb-01', 'curl', '-s', '--max-time', '1', 'http://10.71.64.11/static/style.css').code, 0, 'plain HTTP to nginx is no flow');
    const status = JSON.parse(expectOk(webstack('status', '--stack', e2e, '--json'), 'status').stdout);
    const servers = status.hosts.find((h: { name: string }) => h.name === 'lb-01').daemons.find((d: { name: string }) => d.name === 'haproxy').observed.details.servers;
    assert.deepEqual(servers.map((s: { server: string; status: string; check: string }) => `${s.server} ${s.status} ${s.check}`), ['server-01 UP L7OK', 'server-02 UP L7OK']);
    assert.match(readFileSync(join(home, e2e, 'config', 'lb-01', 'haproxy', 'haproxy.cfg'), 'utf8'), /server server-01 10\.71\.64\.11:443 ssl verify required/);
  });

  test('the app server speaks HTTPS only, and nginx reaches it so', () => {
    const ca = join(home, e2e, 'volumes', 'ca', 'ca.pem');
    assert.match(expectOk(inHost(e2e, 'server-01', 'curl', '-s', '--cacert', ca, 'https://127.0.0.1:8000/healthz'), 'HTTPS to the app').stdout, /"status":"ok"/);
    assert.notEqual(inHost(e2e, 'server-01', 'curl', '-s', '--max-time', '2', 'http://127.0.0.1:8000/healthz').code, 0, 'plain HTTP to the app');
    assert.match(readFileSync(join(home, e2e, 'config', 'server-01', 'nginx', 'nginx.conf'), 'utf8'), /proxy_pass https:\/\/foobar_app;/);
  });

  test('audit passes: the flows are on 443 now, and TLS is as it should be', () => {
    const { code, report } = (() => {
      const run = webstack('audit', '--stack', e2e, '--json');
      return { code: run.code, report: JSON.parse(run.stdout) as AuditReport };
    })();
    assert.equal(code, 0, JSON.stringify(report.scans.filter((s) => s.verdicts.some((v) => v.verdict === 'fail'))));
    assert.equal(report.scans.find((s) => s.from === 'lb-01' && s.to === 'server-01')?.verdicts.find((v) => v.port === 443)?.verdict, 'pass');
  });
});
