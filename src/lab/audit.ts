import { judge, judgeListening, parseGrepable, parseListening, parsePortRange, scansOf, SCANNED, type PortVerdict, type Scan, type ScannedHost, type ScannedPort } from '../audit/ports.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeTestssl, testsslCommand, type TestsslFinding, type TlsCheck } from '../audit/tls.ts';
import { hostListeners } from '../daemons/registry.ts';
import { listenerOptions } from '../design/ports.ts';
import { stackPaths } from '../plan/paths.ts';
import { CLIENT } from '../design/vocabulary.ts';
import { labError } from './errors.ts';
import { readRunningDesign, readState, supervisorAlive } from './state.ts';
import type { Target } from './target.ts';

// `audit`: the design against the running stack. nmap scans every host from the client and from
// every other host it shares a network with, and each answer is held against the flows.

export interface ScanResult extends Scan {
  readonly verdicts: readonly PortVerdict[];
}

/** What one host listens on, seen from inside it. */
export interface ListeningResult {
  readonly host: string;
  readonly verdicts: readonly PortVerdict[];
}

export interface AuditReport {
  readonly stack: string;
  readonly scanned: string;
  readonly scans: readonly ScanResult[];
  readonly listening: readonly ListeningResult[];
  /** testssl.sh from the client against the public entry, when the stack has TLS. */
  readonly tls: { readonly url: string; readonly checks: readonly TlsCheck[] } | null;
  readonly failures: number;
  readonly pending: number;
}

/** How many scanners run at once: each sends fast, and too many at once would lose probes. */
const CONCURRENT_SCANNERS = 4;

/**
 * Fast but honest on a lab's veth links, where nothing is lost but what a firewall drops: one
 * retry, and a short wait for an answer that a dropping firewall never sends.
 */
export function nmapCommand(addresses: readonly string[]): string[] {
  return ['nmap', '-Pn', '-n', '-sS', '-sU', '-p', `T:1-65535,U:${SCANNED.udp.join(',')}`, '--max-retries', '1', '--min-rate', '50000', '--max-rtt-timeout', '200ms', '-oG', '-', ...addresses];
}

/** A second look at a few TCP ports, at nmap's careful default pace. */
export function recheckCommand(address: string, ports: readonly number[]): string[] {
  return ['nmap', '-Pn', '-n', '-sS', '-p', ports.join(','), '--max-retries', '3', '-oG', '-', address];
}

/** The first scan, with the rechecked ports as the second look saw them. */
export function mergeScans(first: ScannedHost, second: ScannedHost, ports: readonly number[]): ScannedHost {
  const again = (port: number): ScannedPort => second.ports.find((p) => p.protocol === 'tcp' && p.port === port) ?? { protocol: 'tcp', port, state: second.rest ?? 'filtered' };
  return { ...first, ports: [...first.ports.filter((p) => !(p.protocol === 'tcp' && ports.includes(p.port))), ...ports.map(again)] };
}

export async function audit(stack: string, home: string, target: Target, progress: (line: string) => void = () => undefined): Promise<AuditReport> {
  const state = readState(home, stack);
  const running = readRunningDesign(home, stack);
  if (!state || !running) throw labError('no-stack', `there is no stack named '${stack}' with a recorded design.`, 'npx webstack ls');
  if (!supervisorAlive(state)) throw labError('not-running', `stack '${stack}' is not running.`, `npx webstack up ${state.design} --name ${stack}`);
  const { design, unserved } = running;
  const scans = scansOf(design);
  const scanners = [...new Set(scans.map((s) => s.from))];
  const namespaceOf = (host: string) => state.hosts.find((h) => h.name === host)?.namespace;

  const results: ScanResult[] = [];
  const queue = [...scanners];
  const worker = async () => {
    for (let scanner = queue.shift(); scanner !== undefined; scanner = queue.shift()) {
      const mine = scans.filter((s) => s.from === scanner);
      const namespace = namespaceOf(scanner);
      if (!namespace) throw labError('no-host', `stack '${stack}' has no host '${scanner}' to scan from.`);
      const argv = nmapCommand([...new Set(mine.map((s) => s.address))]);
      const outcome = await target.run(namespace, argv, { allowFailure: true, timeoutMs: 300_000 });
      if (outcome.exitCode !== 0) throw labError('command-failed', `nmap failed inside ${scanner} (\`${argv.join(' ')}\`, status ${outcome.exitCode}): ${outcome.stderr.trim()}`);
      const seen = parseGrepable(outcome.stdout);
      for (const scan of mine) {
        const host = seen.find((h) => h.address === scan.address) ?? { address: scan.address, ports: [], rest: 'filtered' as const };
        let verdicts = judge(design, unserved, scan, host);
        // A fast scan may lose a probe on a busy machine: what it failed is scanned again, slowly, before it counts.
        const doubtful = verdicts.filter((v) => v.verdict === 'fail' && v.protocol === 'tcp').map((v) => v.port);
        if (doubtful.length > 0) {
          const again = await target.run(namespace, recheckCommand(scan.address, doubtful), { allowFailure: true, timeoutMs: 120_000 });
          const rechecked = parseGrepable(again.stdout).find((h) => h.address === scan.address);
          if (again.exitCode === 0 && rechecked) verdicts = judge(design, unserved, scan, mergeScans(host, rechecked, doubtful));
        }
        results.push({ ...scan, verdicts });
      }
      progress(`scanned ${[...new Set(mine.map((s) => s.to))].join(', ')} from ${scanner}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_SCANNERS, scanners.length) }, worker));

  const listening = await Promise.all(
    design.hosts.map(async (host): Promise<ListeningResult> => {
      const argv = ['ss', '-H', '-ltnup'];
      const outcome = await target.run(namespaceOf(host.name)!, argv, { allowFailure: true, timeoutMs: 10_000 });
      if (outcome.exitCode !== 0) throw labError('command-failed', `ss failed inside ${host.name} (\`${argv.join(' ')}\`): ${outcome.stderr.trim()}`);
      const declared = hostListeners(host.roles, listenerOptions(design.policies, design.app.port, host.monitored));
      const range = await target.run(namespaceOf(host.name)!, ['sysctl', '-n', 'net.ipv4.ip_local_port_range'], { allowFailure: true, timeoutMs: 5_000 });
      return { host: host.name, verdicts: judgeListening(parseListening(outcome.stdout), declared, parsePortRange(range.stdout)) };
    }),
  );

  const order = (s: Scan) => [s.from === CLIENT ? -1 : design.hosts.findIndex((h) => h.name === s.from), design.hosts.findIndex((h) => h.name === s.to)];
  results.sort((a, b) => order(a)[0]! - order(b)[0]! || order(a)[1]! - order(b)[1]! || a.address.localeCompare(b.address));
  const tls = running.tls ? { url: running.tls.url, checks: await testssl(running.tls, namespaceOf(CLIENT)!, stackPaths(home, stack).run, target) } : null;
  if (tls) progress(`tested TLS at ${tls.url} from the client (testssl.sh)`);
  const count = (verdict: PortVerdict['verdict']) => [...results, ...listening].reduce((n, r) => n + r.verdicts.filter((v) => v.verdict === verdict).length, 0);
  const tlsFailures = tls?.checks.filter((c) => c.verdict === 'fail').length ?? 0;
  return { stack, scanned: `TCP 1-65535 and UDP ${SCANNED.udp.join(', ')}`, scans: results, listening, tls, failures: count('fail') + tlsFailures, pending: count('pending') };
}

async function testssl(tls: { url: string; roots: string }, client: string, run: string, target: Target): Promise<TlsCheck[]> {
  const jsonFile = join(run, 'audit-testssl.json');
  target.remove(jsonFile);
  const argv = testsslCommand(tls.url, tls.roots, jsonFile);
  try {
    const outcome = await target.run(client, argv, { allowFailure: true, timeoutMs: 300_000 });
    if (!existsSync(jsonFile)) throw labError('command-failed', `testssl.sh failed inside the client (\`${argv.join(' ')}\`, status ${outcome.exitCode}): ${(outcome.stderr || outcome.stdout).trim().split('\n').slice(-5).join(' ')}`);
    return judgeTestssl(JSON.parse(readFileSync(jsonFile, 'utf8')) as TestsslFinding[]);
  } finally {
    target.remove(jsonFile);
  }
}

const MARK = { pass: '✓', fail: '✗', pending: '…' } as const;

export function formatAudit(report: AuditReport): string {
  const lines = [`audit of ${report.stack}: every host scanned (${report.scanned}) from the client and from each host it shares a network with`];
  let scanner = '';
  for (const r of report.scans) {
    if (r.from !== scanner) {
      scanner = r.from;
      lines.push('', `from ${r.from === CLIENT ? 'the client (the internet)' : r.from}:`);
    }
    if (r.verdicts.length === 0) {
      lines.push(`  ✓ ${r.to} ${r.address}: nothing answers, and the design has no flow to it`);
      continue;
    }
    lines.push(`  ${r.to} ${r.address} (${r.network}):`);
    for (const v of r.verdicts) lines.push(`    ${MARK[v.verdict]} ${v.port}/${v.protocol} ${v.state}: ${v.why}`);
  }
  lines.push('', 'inside each host, what listens beyond loopback:');
  for (const l of report.listening) {
    if (l.verdicts.length === 0) lines.push(`  ✓ ${l.host}: nothing`);
    else lines.push(`  ${l.host}:`, ...l.verdicts.map((v) => `    ${MARK[v.verdict]} ${v.port}/${v.protocol}: ${v.why}`));
  }
  if (report.tls) {
    lines.push('', `TLS at ${report.tls.url}, from the client (testssl.sh):`);
    for (const c of report.tls.checks) lines.push(`  ${c.verdict === 'pass' ? '✓' : c.verdict === 'fail' ? '✗' : '·'} ${c.what}: ${c.why}`);
  }
  lines.push('', report.failures === 0 ? `audit passed: every designed flow answers and nothing else does${report.tls ? ', and TLS is as it should be' : ''}${report.pending ? ` (${report.pending} not served by the lab yet)` : ''}` : `audit FAILED: ${report.failures} difference${report.failures === 1 ? '' : 's'} from the design${report.pending ? `; ${report.pending} not served by the lab yet` : ''}`);
  return `${lines.join('\n')}\n`;
}
