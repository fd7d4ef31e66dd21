import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseHaproxyStats } from '../daemons/haproxy.ts';
import { primaryOf, withPrimary } from '../design/promote.ts';
import type { ResolvedStack } from '../design/types.ts';
import { daemonPaths, stackPaths } from '../plan/paths.ts';
import { buildTrace, parseAppLine, parseCurl, parseDig, parseHaproxyLine, parseNginxLine, type Trace, type TraceEvidence } from '../trace/trace.ts';
import { labError } from './errors.ts';
import { lastLines } from './logfile.ts';
import { checkLoadRequest } from './load.ts';
import { readPromotion, readRunningDesign, readSpecs, runningHost, siteBase, type StackState } from './state.ts';
import type { Target } from './target.ts';

// `webstack trace`: one request sent from the client, and the evidence of its path gathered
// where it is: the client's dig and curl, which host holds each virtual IP now, HAProxy's view of
// its servers, and each tier's log line for the request's id. trace/trace.ts reads it.

export interface TraceRequest {
  /** The stack's front page when absent. */
  readonly url?: string;
  readonly method: string;
  readonly data?: string;
  /** Cookies to send, as the same client would (`name=value; …`); none: a new client. */
  readonly session?: string;
}

const MARKER = '__webstack_trace__';
/** How long the tiers may take to write their line of the request. */
const LOG_WAIT_MS = 3_000;
/** Only the end of a log is searched: the request was just made. */
const LOG_TAIL_BYTES = 512 * 1024;

export async function trace(home: string, stack: string, request: TraceRequest, target: Target): Promise<Trace> {
  const { state, host: client } = runningHost(home, stack, 'client');
  const running = readRunningDesign(home, stack);
  if (!running) throw labError('no-stack', `there is no stack named '${stack}'.`);
  const design = withPrimary(running.design, readPromotion(home, stack));
  const url = request.url ?? `${siteBase(running)}/`;
  checkLoadRequest({ urls: [url], requests: 1, rate: 1, connections: 1, timeoutS: 10 }, state.networks.map((n) => n.cidr));
  const hostname = new URL(url).hostname;
  const hostOf = await addressesNow(state, design, target);

  const dig = /^[\d.]+$/.test(hostname) ? null : await target.run(client.namespace, ['dig', '+nocmd', '+noall', '+answer', '+stats', hostname, 'A'], { allowFailure: true, timeoutMs: 10_000 });
  const dns = dig ? { ...parseDig(dig.stdout), line: dig.stdout.split('\n').filter((l) => /\sIN\s+A\s/.test(l)).map((l) => l.replace(/\s+/g, ' ')).join(' / ') } : null;

  // Our own request id: HAProxy replaces it with its own (and says which in its answer); nginx
  // without a load balancer in front passes it on to the app, as it would a proxy's.
  const ours = `trace-${randomBytes(6).toString('hex')}`;
  const curl = [
    'curl', '-sS', '-v', '--max-time', '10', '--dump-header', '-', '--write-out', `\n${MARKER}%{json}`,
    '-H', `X-Request-ID: ${ours}`,
    ...(running.tls ? ['--cacert', running.tls.roots] : []),
    ...(request.method !== 'GET' ? ['-X', request.method] : []),
    ...(request.data !== undefined ? ['-H', 'content-type: application/json', '--data', request.data] : []),
    ...(request.session ? ['-H', `Cookie: ${request.session}`] : []),
    url,
  ];
  const sent = await target.run(client.namespace, curl, { allowFailure: true, timeoutMs: 15_000 });
  const view = parseCurl(sent.stdout, sent.stderr, MARKER);

  const specs = readSpecs(home, stack) ?? [];
  const logOf = (host: string, daemon: string) => daemonPaths(stackPaths(home, stack), host, daemon).log;
  const hostsWith = (daemon: string) => specs.filter((s) => s.daemon === daemon).map((s) => s.host);
  const find = async <T>(daemon: string, parse: (line: string) => T | null, mine: (parsed: T) => boolean) => {
    const deadline = Date.now() + LOG_WAIT_MS;
    for (;;) {
      for (const host of hostsWith(daemon)) {
        const line = lastLines(logOf(host, daemon), Infinity, LOG_TAIL_BYTES).find((l) => {
          const parsed = parse(l);
          return parsed !== null && mine(parsed);
        });
        if (line) return { host, line: line.trim(), parsed: parse(line)! };
      }
      if (Date.now() > deadline) return null;
      await sleep(100);
    }
  };
  const hasLb = hostsWith('haproxy').length > 0;
  const hasWeb = hostsWith('nginx').length > 0;
  // HAProxy gives the request an id of its own, and its log line is known by the client's end of
  // the connection (its error pages do not carry the id back); behind it, the id finds the rest.
  const lbLine = hasLb && view.local ? await find('haproxy', parseHaproxyLine, (p) => p.client === view.local) : null;
  const requestId = lbLine?.parsed.requestId ?? view.headers['x-request-id'] ?? ours;
  // A request the load balancer kept (no server to send it to) reached no tier behind it.
  const passedOn = !lbLine || lbLine.parsed.server !== '<NOSRV>';
  const webLine = hasWeb && passedOn ? await find('nginx', parseNginxLine, (p) => p.requestId === requestId) : null;
  // nginx serves static files itself: no app line is coming then.
  const appLine = !passedOn || (webLine && webLine.parsed.upstream === null) ? null : await find('app', parseAppLine, (p) => p.requestId === requestId);

  let lb: TraceEvidence['lb'] = null;
  if (lbLine) {
    const spec = specs.find((s) => s.daemon === 'haproxy' && s.host === lbLine.host)!;
    const stats = spec.readiness.kind === 'http' ? await target.run(spec.namespace, ['curl', '--silent', '--max-time', '2', `${spec.readiness.url};csv`], { allowFailure: true, timeoutMs: 3_000 }) : null;
    const health = Object.fromEntries(parseHaproxyStats(stats?.stdout ?? '').filter((s) => s.backend === 'servers').map((s) => [s.server, s.status]));
    lb = { ...lbLine, algorithm: design.policies.lb.algorithm, health };
  }

  const evidence: TraceEvidence = {
    url,
    method: request.method,
    requestId: view.status === null && !lbLine ? null : requestId,
    domainName: hostname,
    dns: dns ? { ...dns, serverHost: dns.server ? (hostOf[dns.server] ?? null) : null } : null,
    curl: view,
    hostOf,
    virtualIps: Object.fromEntries(design.virtualIps.map((v) => [v.address, { holders: v.holders }])),
    lb,
    hasLb,
    web: webLine,
    hasWeb,
    app: appLine,
    write: request.method === 'POST' ? writePath(design, hostOf) : null,
  };
  return buildTrace(evidence);
}

/** Which host has each of the stack's addresses now: every host's own, and each virtual IP's holder. */
async function addressesNow(state: StackState, design: ResolvedStack, target: Target): Promise<Record<string, string>> {
  const hostOf: Record<string, string> = {};
  for (const host of state.hosts) for (const address of Object.values(host.addresses)) hostOf[address] = host.name;
  for (const vip of design.virtualIps) {
    for (const holder of vip.holders) {
      const namespace = state.hosts.find((h) => h.name === holder)?.namespace;
      if (!namespace) continue;
      const { stdout } = await target.run(namespace, ['ip', '-4', '-o', 'addr', 'show'], { allowFailure: true, timeoutMs: 3_000 });
      if (stdout.includes(` ${vip.address}/`)) hostOf[vip.address] = holder;
    }
  }
  return hostOf;
}

/** Where a write goes now, and what its acknowledgement means, by the design's replication. */
function writePath(design: ResolvedStack, hostOf: Readonly<Record<string, string>>): TraceEvidence['write'] {
  const replication = design.policies.db.replication;
  if (replication === 'galera') {
    const address = design.virtualIps.find((v) => v.role === 'db')?.address;
    return { writer: address ? (hostOf[address] ?? null) : null, acknowledged: 'certified by the Galera cluster, so every synced member has it before the answer' };
  }
  const writer = primaryOf(design);
  const replicas = design.hosts.filter((h) => h.roles.includes('db-replica')).length;
  if (replicas === 0) return { writer, acknowledged: 'committed on the only database' };
  return { writer, acknowledged: replication === 'semi-sync' ? 'committed once a replica had it (semi-sync)' : 'committed on the primary; the replicas apply it after (asynchronous)' };
}

