import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, judgeListening, parseGrepable, parseListening, parsePortRange, scansOf, type Scan } from '../../src/audit/ports.ts';
import { loadDesign } from '../../src/design/load.ts';
import { formatAudit, mergeScans, nmapCommand, recheckCommand, type AuditReport } from '../../src/lab/audit.ts';
import { planLab } from '../../src/plan/plan.ts';
import { registerDaemon } from '../../src/daemons/registry.ts';
import { listener } from '../../src/daemons/types.ts';
import { FIXED } from '../helpers.ts';

// audit's judgement, without a lab: nmap's and ss's output as they print it, held against the flows.

const GREPABLE = `# Nmap 7.93 scan initiated Mon Nov 23 16:24:36 2026 as: nmap -Pn -n -sS -sU -p T:1-65535,U:53 -oG - 203.0.113.74 10.71.64.11
Host: 203.0.113.74 ()\tStatus: Up
Host: 203.0.113.74 ()\tPorts: 80/open/tcp//http///, 443/closed/tcp//https///, 53/open|filtered/udp//domain///\tIgnored State: filtered (65533)
Host: 10.71.64.11 ()\tStatus: Up
Host: 10.71.64.11 ()\tPorts: 3306/open/tcp//mysql///, 5555/open/tcp/////\tIgnored State: filtered (65533)
# Nmap done at Mon Nov 23 16:24:46 2026 -- 2 IP addresses (2 hosts up) scanned in 9.66 seconds
`;

describe('audit reads nmap and ss as they print', () => {
  it('reads every listed port and the state of the rest', () => {
    const hosts = parseGrepable(GREPABLE);
    assert.equal(hosts.length, 2);
    assert.deepEqual(hosts[0], {
      address: '203.0.113.74',
      ports: [
        { port: 80, state: 'open', protocol: 'tcp' },
        { port: 443, state: 'closed', protocol: 'tcp' },
        { port: 53, state: 'open|filtered', protocol: 'udp' },
      ],
      rest: 'filtered',
    });
  });

  it('reads listening sockets with their program, on IPv4, IPv6 and any address', () => {
    const ss = [
      'tcp LISTEN 0      4096   203.0.113.74:80   0.0.0.0:* users:(("haproxy",pid=4577,fd=6))',
      'tcp LISTEN 0      80       127.0.0.1:3306 0.0.0.0:* users:(("mariadbd",pid=4458,fd=25))',
      'tcp LISTEN 0      511           [::]:8080    [::]:* users:(("node",pid=1,fd=3))',
      'udp UNCONN 0      0      10.71.64.9%eth0:53   0.0.0.0:* users:(("knotd",pid=2,fd=9))',
    ].join('\n');
    assert.deepEqual(parseListening(ss), [
      { protocol: 'tcp', address: '203.0.113.74', port: 80, program: 'haproxy' },
      { protocol: 'tcp', address: '127.0.0.1', port: 3306, program: 'mariadbd' },
      { protocol: 'tcp', address: '::', port: 8080, program: 'node' },
      { protocol: 'udp', address: '10.71.64.9', port: 53, program: 'knotd' },
    ]);
  });

  it('scans with every TCP port and DNS over UDP', () => {
    assert.deepEqual(nmapCommand(['10.0.0.1']).slice(0, 7), ['nmap', '-Pn', '-n', '-sS', '-sU', '-p', 'T:1-65535,U:53']);
  });
});

describe('audit holds what answers against the flows', async () => {
  const { stack } = await loadDesign('secured');
  const plan = planLab(stack, FIXED);
  const address = (host: string, network: string) => stack.hosts.find((h) => h.name === host)!.addresses[network]!;

  it('scans every public address from the client and every shared network from each host', () => {
    const scans = scansOf(stack);
    assert.deepEqual(scans.filter((s) => s.from === 'client').map((s) => `${s.to} ${s.network}`), ['lb-01 public']);
    assert.deepEqual(scans.filter((s) => s.from === 'server-01').map((s) => s.to), ['lb-01', 'server-02', 'mon-01']);
    assert.ok(!scans.some((s) => s.from === s.to));
  });

  it('passes the designed flows that answer, and calls an exporter the lab does not run yet pending', async () => {
    const scan: Scan = { from: 'client', to: 'lb-01', address: address('lb-01', 'public'), network: 'public' };
    const verdicts = judge(stack, plan.unserved, scan, parseGrepable(GREPABLE)[0]!);
    assert.deepEqual(verdicts.map((v) => [v.port, v.verdict]), [[80, 'pass'], [443, 'fail']], 'HTTPS closed is nothing listening');
    const scrape: Scan = { from: 'mon-01', to: 'server-01', address: address('server-01', 'private'), network: 'private' };
    const exporters = judge(stack, plan.unserved, scrape, { address: scrape.address, ports: [{ protocol: 'tcp', port: 8000, state: 'open' }, { protocol: 'tcp', port: 9100, state: 'open' }, { protocol: 'tcp', port: 9104, state: 'open' }], rest: 'filtered' });
    assert.deepEqual(exporters.filter((v) => [8000, 9100, 9104].includes(v.port)).map((v) => [v.port, v.verdict]), [[8000, 'pass'], [9100, 'pass'], [9104, 'pass']]);
    // A daemon the lab does not run yet (one a plug-in declares without a render): closed is expected there.
    const unregister = registerDaemon({ name: 'planned-exporter', title: 'a planned exporter', programs: {}, listens: (role, _r, { monitored }) => (monitored && role === 'web' ? [listener('planned-exporter', role, 9999, 'monitoring')] : []), runsOn: (host) => host.roles.includes('web'), after: [] });
    try {
      const { stack: planned } = await loadDesign('secured');
      const web = planned.hosts.find((h) => h.name === 'server-01')!.addresses.private!;
      const verdicts = judge(planned, planLab(planned, FIXED).unserved, { from: 'mon-01', to: 'server-01', address: web, network: 'private' }, { address: web, ports: [{ protocol: 'tcp', port: 9100, state: 'open' }, { protocol: 'tcp', port: 9999, state: 'closed' }], rest: 'filtered' });
      assert.deepEqual(verdicts.filter((v) => [9100, 9999].includes(v.port)).map((v) => [v.port, v.verdict]), [[9100, 'pass'], [9999, 'pending']]);
      assert.match(verdicts.find((v) => v.port === 9999)!.why, /the lab does not run planned-exporter yet/);
    } finally {
      unregister();
    }
  });

  it("passes a Galera member's state-transfer ports closed: they open only while a member joins", async () => {
    const { stack: ha } = await loadDesign('ha');
    const to = ha.hosts.find((h) => h.name === 'db-02')!.addresses.private!;
    const verdicts = judge(ha, planLab(ha, FIXED).unserved, { from: 'db-01', to: 'db-02', address: to, network: 'private' }, { address: to, ports: [{ protocol: 'tcp', port: 4444, state: 'closed' }, { protocol: 'tcp', port: 4567, state: 'open' }, { protocol: 'tcp', port: 4568, state: 'closed' }], rest: 'filtered' });
    assert.deepEqual(verdicts.map((v) => [v.port, v.verdict]), [[4444, 'pass'], [4567, 'pass'], [4568, 'pass']]);
    assert.match(verdicts.find((v) => v.port === 4444)!.why, /galera flow: open only while this member receives a copy of the database \(SST\)/);
    // Group communication closed is a member that is not running: that fails.
    const down = judge(ha, planLab(ha, FIXED).unserved, { from: 'db-01', to: 'db-02', address: to, network: 'private' }, { address: to, ports: [{ protocol: 'tcp', port: 4567, state: 'closed' }], rest: 'closed' });
    assert.equal(down.find((v) => v.port === 4567)!.verdict, 'fail');
  });

  it('fails a port that answers without a flow, and names it', () => {
    const scan: Scan = { from: 'server-02', to: 'server-01', address: address('server-01', 'private'), network: 'private' };
    const verdicts = judge(stack, plan.unserved, scan, parseGrepable(GREPABLE)[1]!);
    assert.deepEqual(verdicts.map((v) => [v.port, v.verdict]), [[3306, 'pass'], [5555, 'fail']]);
    assert.match(verdicts[1]!.why, /open to server-02, but the design has no flow from server-02 to it/);
  });

  it('fails a designed flow that a firewall blocks, and one that nothing serves', () => {
    const scan: Scan = { from: 'lb-01', to: 'server-01', address: address('server-01', 'private'), network: 'private' };
    const blocked = judge(stack, plan.unserved, scan, { address: scan.address, ports: [], rest: 'filtered' });
    assert.deepEqual(blocked.map((v) => [v.port, v.verdict, v.why]), [[80, 'fail', "the design's proxy flow is blocked"]]);
    const unserved = judge(stack, plan.unserved, scan, { address: scan.address, ports: [{ protocol: 'tcp', port: 80, state: 'closed' }], rest: 'filtered' });
    assert.deepEqual(unserved.map((v) => [v.port, v.verdict, v.why]), [[80, 'fail', "the design's proxy flow: let through, but nothing listens"]]);
  });

  it('fails a socket no daemon declares even when nothing outside can reach it, and ignores loopback', () => {
    const verdicts = judgeListening(
      [
        { protocol: 'tcp', address: '10.71.64.11', port: 80, program: 'nginx' },
        { protocol: 'tcp', address: '0.0.0.0', port: 5555, program: 'nc' },
        { protocol: 'tcp', address: '127.0.0.1', port: 6000, program: 'debug' },
      ],
      [{ protocol: 'tcp', port: 80 }],
    );
    assert.deepEqual(verdicts.map((v) => [v.port, v.verdict]), [[80, 'pass'], [5555, 'fail']]);
    assert.match(verdicts[1]!.why, /nc listens on 0\.0\.0\.0:5555, which no daemon of the design declares/);
  });

  it("takes a UDP socket on a port the kernel handed out for a sender's (HAProxy's syslog), and a UDP server below that range for a server", () => {
    const range = parsePortRange('32768\t60999\n');
    assert.deepEqual(range, [32768, 60999]);
    const sockets = [
      { protocol: 'udp' as const, address: '0.0.0.0', port: 39960, program: 'haproxy' },
      { protocol: 'udp' as const, address: '0.0.0.0', port: 5353, program: 'stray' },
      { protocol: 'tcp' as const, address: '0.0.0.0', port: 40000, program: 'stray' },
    ];
    assert.deepEqual(judgeListening(sockets, [], range).map((v) => [v.protocol, v.port, v.verdict]), [['udp', 5353, 'fail'], ['tcp', 40000, 'fail']]);
  });

  it('takes a slow second look at what the fast scan failed, and believes it', () => {
    const scan: Scan = { from: 'lb-01', to: 'server-01', address: address('server-01', 'private'), network: 'private' };
    const fast = { address: scan.address, ports: [], rest: 'filtered' as const };
    assert.equal(judge(stack, plan.unserved, scan, fast)[0]!.verdict, 'fail', 'a lost probe reads as a blocked flow');
    assert.deepEqual(recheckCommand(scan.address, [80]), ['nmap', '-Pn', '-n', '-sS', '-p', '80', '--max-retries', '3', '-oG', '-', scan.address]);
    const slow = parseGrepable(`Host: ${scan.address} ()\tPorts: 80/open/tcp//http///\n`)[0]!;
    const merged = mergeScans(fast, slow, [80]);
    assert.deepEqual(judge(stack, plan.unserved, scan, merged).map((v) => [v.port, v.verdict]), [[80, 'pass']]);
    // What the second look still finds failing stays failed.
    const stillShut = mergeScans(fast, { address: scan.address, ports: [], rest: 'filtered' }, [80]);
    assert.equal(judge(stack, plan.unserved, scan, stillShut)[0]!.verdict, 'fail');
  });

  it('says passed or FAILED, with the count', () => {
    const report: AuditReport = { stack: 'x', scanned: 'TCP 1-65535 and UDP 53', scans: [], listening: [{ host: 'web-01', verdicts: [{ protocol: 'tcp', port: 5555, state: 'open', verdict: 'fail', why: 'nc listens' }] }], tls: null, failures: 1, pending: 0 };
    assert.match(formatAudit(report), /✗ 5555\/tcp: nc listens\n\naudit FAILED: 1 difference from the design\n$/);
    assert.match(formatAudit({ ...report, listening: [], failures: 0, pending: 2 }), /audit passed: every designed flow answers and nothing else does \(2 not served by the lab yet\)/);
  });
});
