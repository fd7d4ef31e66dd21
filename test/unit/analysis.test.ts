import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { check } from '../../src/analysis/check.ts';
import { capabilityExpressions } from '../../src/analysis/capabilities.ts';
import { evaluate, probability } from '../../src/analysis/expr.ts';
import type { Finding } from '../../src/analysis/finding.ts';
import { loadDesign } from '../../src/design/load.ts';
import type { Capability } from '../../src/design/vocabulary.ts';
import { designFrom } from '../helpers.ts';

const spofs = (findings: readonly Finding[]) =>
  findings.filter((f) => f.category === 'spof').map((f) => `${f.capability}:${f.hosts.join('+')}`).sort();
const categories = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.category))].sort();
const reportOf = async (name: string) => check((await loadDesign(name)).stack);

describe('check finds what the seeds find, from the flow graph', () => {
  it('simple: the one server is a single point of failure for every capability it serves', async () => {
    const r = await reportOf('simple');
    assert.deepEqual(spofs(r.findings), ['read:server-01', 'static:server-01', 'write:server-01']);
  });

  it('distributed: the lb, and the primary for writes; no firewall, no HTTPS, no monitoring', async () => {
    const r = await reportOf('distributed');
    assert.deepEqual(spofs(r.findings), ['read:lb-01', 'static:lb-01', 'write:lb-01', 'write:server-01']);
    const messages = r.findings.map((f) => f.message).join('\n');
    assert.match(messages, /no TLS on lb-01/);
    assert.match(messages, /no firewall/);
    assert.match(messages, /nothing monitors the stack/);
    assert.deepEqual(r.findings.find((f) => f.capability === 'write' && f.hosts[0] === 'server-01')?.roles, ['web', 'app', 'db-primary']);
  });

  it('secured: still the single lb and the primary; its one security gap is the plain text behind the lb, as the seeds say', async () => {
    const r = await reportOf('secured');
    assert.deepEqual(spofs(r.findings), ['read:lb-01', 'static:lb-01', 'write:lb-01', 'write:server-01']);
    const security = r.findings.filter((f) => f.category === 'security');
    assert.equal(security.length, 1);
    assert.match(security[0]!.message, /^TLS ends at the entry: behind it, lb → web \(HTTP, e\.g\. lb-01 → server-01\)/);
  });

  it('scaled: only the primary, for writes', async () => {
    assert.deepEqual(spofs((await reportOf('scaled')).findings), ['write:db-01']);
  });

  it('ha: no single point of failure, with TLS end to end; its one finding is the quorum of its database cluster', async () => {
    const r = await reportOf('ha');
    assert.deepEqual(spofs(r.findings), []);
    assert.deepEqual(
      r.findings.map((f) => [f.category, f.capability, f.hosts]),
      [['failover', 'write', ['db-01', 'db-02', 'db-03']]],
    );
    assert.match(r.findings[0]!.message, /goes on without any one member, but losing 2 at once stops reads and writes/);
    assert.match(r.findings[0]!.fix, /run 5 members/);
  });

  it('a Galera cluster serves reads and writes while a majority of its members is up, exactly: any one may go, no two', async () => {
    const { stack } = await loadDesign('ha');
    const e = capabilityExpressions(stack);
    const without = (...hosts: string[]) => (h: string) => !hosts.includes(h);
    for (const capability of ['read', 'write'] as const) {
      for (const m of ['db-01', 'db-02', 'db-03']) assert.equal(evaluate(e[capability], without(m)), true, `${capability} without ${m}`);
      assert.equal(evaluate(e[capability], without('db-01', 'db-03')), false, `${capability} without two members`);
    }
    // Each member 99.9%: P(at least two of three) = 3p²(1−p) + p³.
    const p = 0.999;
    const quorum = 3 * p * p * (1 - p) + p ** 3;
    assert.ok(Math.abs(probability(e.write, (h) => (h.startsWith('db-') ? p : 1)) - quorum) < 1e-12);
  });

  it('secured: TLS at the edge leaves the hops behind the load balancer in clear, and says so', async () => {
    const r = await reportOf('secured');
    assert.ok(r.findings.some((f) => f.category === 'security' && /^TLS ends at the entry/.test(f.message) && /policies\.tls: \{ mode: end-to-end \}/.test(f.fix)));
  });

  it('computes availability exactly from the per-host figure', async () => {
    const r = await reportOf('distributed');
    assert.equal(r.availability.write, 0.998001); // lb and primary in series
    assert.equal(r.availability.resolve, 1); // managed DNS is outside the stack
    assert.equal((await reportOf('simple')).availability.static, 0.999);
  });

  it('honours a per-host availability', () => {
    const { stack } = designFrom(`
stack: avail
domain: foobar.com
hosts:
  s-01: { roles: [web, app, db-primary], networks: [public], availability: 0.95 }
`);
    assert.equal(check(stack).availability.read, 0.95);
  });
});

describe('check takes failover policies into account', () => {
  const twoServers = (policies: string) => `
stack: pol
domain: foobar.com
networks: { public: { cidr: 203.0.113.0/27 }, private: { cidr: 10.71.0.0/24 } }
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  lb-02: { roles: [lb], networks: [public, private] }
  s-01: { roles: [web, app, db-primary], networks: [private] }
  s-02: { roles: [web, app, db-replica], networks: [private] }
policies:
${policies}
`;
  const spofsOf = (policies: string) => spofs(check(designFrom(twoServers(policies)).stack).findings);

  it('a Galera cluster of three removes the primary as a single point of failure', () => {
    assert.deepEqual(spofsOf('  lb: { virtualIp: true }\n  db: { failover: manual }'), ['write:s-01']);
    const cluster = twoServers('  lb: { virtualIp: true }\n  db: { replication: galera }')
      .replace('web, app, db-primary', 'web, app, db')
      .replace('web, app, db-replica', 'web, app, db')
      .replace('policies:', '  db-03: { roles: [db], networks: [private] }\npolicies:');
    assert.deepEqual(spofs(check(designFrom(cluster).stack).findings), []);
  });

  it('without health checks every backend is needed, since its loss fails a share of requests', () => {
    const found = spofsOf('  lb: { virtualIp: true }\n  healthChecks: { enabled: false }');
    for (const c of ['static', 'read', 'write'] as Capability[]) assert.ok(found.includes(`${c}:s-02`), `${c}:s-02 in ${found}`);
  });

  it('an lb that the record does not point at does not help', () => {
    const design = twoServers('  db: { failover: manual }').replace('policies:', 'records:\n  www: lb-01\npolicies:');
    assert.deepEqual(spofs(check(designFrom(design).stack).findings), ['read:lb-01', 'static:lb-01', 'write:lb-01', 'write:s-01']);
  });

  it('analyses the stack’s own dns hosts: one is a single point of failure, two are not', () => {
    const withDns = (n: number) => `
stack: dns
domain: foobar.com
hosts:
${Array.from({ length: n }, (_, i) => `  ns-0${i + 1}: { roles: [dns], networks: [public] }`).join('\n')}
  s-01: { roles: [web, app, db-primary], networks: [public] }
records:
  www: s-01
`;
    assert.ok(spofs(check(designFrom(withDns(1)).stack).findings).includes('resolve:ns-01'));
    assert.ok(!spofs(check(designFrom(withDns(2)).stack).findings).some((s) => s.startsWith('resolve:')));
  });
});

describe('check finds security, monitoring and maintenance gaps', () => {
  it('reports a database port reachable from the public network without a firewall, and not with one', () => {
    const design = (firewall: boolean) => `
stack: exposed
domain: foobar.com
hosts:
  s-01: { roles: [web, app, db-primary], networks: [public] }
policies: { firewall: ${firewall} }
`;
    const exposure = (firewall: boolean) => check(designFrom(design(firewall)).stack).findings.find((f) => /reachable from the public network/.test(f.message));
    assert.match(exposure(false)?.message ?? '', /database port 3306 \(mariadb\)/);
    assert.equal(exposure(true), undefined);
  });

  it('reports unmonitored hosts, a missing uptime check and missing alerting', () => {
    const { stack } = designFrom(`
stack: mon
domain: foobar.com
hosts:
  s-01: { roles: [web, app, db-primary], networks: [public] }
  s-02: { roles: [web, app], networks: [public], monitored: false }
  mon-01: { roles: [monitoring], networks: [public] }
`);
    const messages = check(stack).findings.filter((f) => f.category === 'monitoring').map((f) => f.message);
    assert.deepEqual(messages, ['s-02 is not monitored', 'no uptime check of http://www.foobar.com/: a site that is down to users can look healthy from inside', 'no alerting: failures are recorded, but nobody is told']);
  });

  it('groups one-member tiers by host for maintenance', async () => {
    const r = await reportOf('simple');
    const maintenance = r.findings.filter((f) => f.category === 'maintenance');
    assert.equal(maintenance.length, 1);
    assert.match(maintenance[0]!.message, /^server-01 has no stand-in as web, app and db-primary: restarting or deploying it means downtime for 'load a static page', 'read data' and 'write data'$/);
  });

  it('gives every finding a fix', async () => {
    for (const name of ['simple', 'distributed', 'secured', 'scaled']) {
      for (const f of (await reportOf(name)).findings) assert.ok(f.fix.length > 10, `${name}: ${f.message}`);
    }
  });
});
