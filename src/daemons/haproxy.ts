import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { LOOPBACK, targetsOf } from './listeners.ts';
import { appServesTls, internalCaFile } from '../plan/internal-ca.ts';
import { acmeHost, type LabHost } from '../plan/topology.ts';
import { ACME_UPDATE_KEY } from './dns.ts';
import { acmeDirectory, acmeServerCertificate, authoritativeServer } from './pebble.ts';
import type { DaemonPaths } from '../plan/paths.ts';
import { header, listener, staged, type DaemonContext, type Observation, type RunnableDaemon } from './types.ts';

// HAProxy on each load-balancer host: the design's balancing algorithm over its backends (nginx on
// the web hosts, or the app servers straight when there is no web tier), with active health checks
// on the design's health path, retries that move a failed request to another server, and its stats
// page and Prometheus endpoint on the private network only.

const SYSTEM_USER = 'haproxy';
/**
 * A frozen server accepts connections (the kernel does) and never answers: the server timeout
 * bounds what that costs a request before it is retried elsewhere. It must exceed the app's worst
 * case (a database timeout and its fallback), or slow answers would be cut off.
 */
const SERVER_TIMEOUT_MS = 2_000;
/**
 * Servers are on the same network: a connect takes well under a millisecond, so one that takes
 * longer is to a cut-off server and is retried elsewhere. HAProxy also gives a health check at
 * most min(timeout connect, inter) before its own timeout: short, so a frozen server fails fast.
 */
const CONNECT_TIMEOUT_MS = 250;
/**
 * Requests one server serves at once; more wait in HAProxy's queue (up to `timeout queue`) for the
 * first server with room. Overload then waits at the door rather than inside the servers, where it
 * would slow their health checks and their database calls too, and a busy server is never taken
 * for a dead one. A tier's app servers answer a read in a few milliseconds: 16 keep them busy, and
 * a health check behind them waits for at most 16 (with 32, one in CI waited past its timeout twice).
 */
const SERVER_MAXCONN = 16;
/** How long a request may wait in the queue before HAProxy answers 503 itself. */
const QUEUE_TIMEOUT_S = 5;

export const haproxy: RunnableDaemon = {
  name: 'haproxy',
  title: 'HAProxy, the load balancer',
  // socat speaks to HAProxy's runtime API (its admin socket): `deploy` drains servers through it.
  programs: { haproxy: 'haproxy', curl: 'curl', lego: 'lego', openssl: 'openssl', socat: 'socat' },
  listens: (role, _roles, { tls }) =>
    role === 'lb'
      ? [listener('haproxy', role, PORTS.http, 'entry'), ...(tls ? [listener('haproxy', role, PORTS.https, 'entry')] : []), listener('haproxy', role, PORTS.haproxyStats, 'admin')]
      : [],
  runsOn: (host) => host.roles.includes('lb'),
  // Its servers: nginx on the web hosts, or the app servers when the design has no web tier.
  // ...and, with TLS, the lab's CA and the DNS server its certificate's challenge is answered from.
  after: ['nginx', 'app', 'pebble', 'dns'],
  render(context) {
    const { paths, host, design } = context;
    const backends = targetsOf(design, host.name, 'proxy');
    const backendPort = design.flows.find((f) => f.from === host.name && f.purpose === 'proxy')?.port ?? PORTS.http;
    const front = frontendAddresses(context);
    const stats = statsAddresses(context);
    const checks = design.policies.healthChecks;
    // A check unanswered after 40% of the interval fails, and once one has failed the next ones
    // follow at a tenth of the interval: with fall 2, a server that stops answering is down within
    // about 1.5 intervals plus a check's timeout, and a single slow answer still does not take it out.
    const checkTimeout = Math.max(100, Math.round(checks.intervalMs * 0.4));
    const fastInterval = Math.max(50, Math.round(checks.intervalMs / 10));
    const hostHeader = design.records.find((r) => r.name === design.entry)?.fqdn ?? design.domain;
    const acme = acmeHost(context.topology);
    // A virtual IP this host may hold: bound now (transparent: before it is local), served once keepalived brings it here.
    const vips = design.virtualIps.filter((v) => v.role === 'lb' && v.holders.includes(host.name)).map((v) => v.address);
    const vipBinds = (port: number, options = '') => vips.map((v) => `\n    bind ${v}:${port} transparent${options}`).join('');
    const tls = acme ? certificate(context, acme) : null;
    const logTo = targetsOf(design, host.name, 'logs');
    const config = `${header('#', context, 'haproxy')}
global
    log stdout format raw local0 info${logTo.map((t) => `\n    log ${t.address}:${PORTS.syslog} len 4096 local0 info`).join('')}
    log-tag haproxy${tls ? `
    # Mozilla's intermediate profile: TLS 1.2 and 1.3 only, forward secrecy (ECDHE) and AEAD ciphers.
    ssl-default-bind-ciphers ${TLS12_CIPHERS}
    ssl-default-bind-ciphersuites ${TLS13_CIPHERSUITES}
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets` : ''}
    user ${SYSTEM_USER}
    group ${SYSTEM_USER}
    maxconn 4096
    # Master-worker mode (-W): a reload (SIGUSR2 to the master) starts new workers on the same
    # listening sockets, handed over through this socket, while the old ones finish their requests.
    stats socket ${adminSocket(paths)} mode 600 level admin expose-fd listeners

defaults
    mode http
    log global
    # The request id (X-Request-ID), made here, in every line: logs --request follows it through nginx and the app.
    log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq request_id=%ID %{+Q}r"
    option dontlognull
    # On a reload the old workers keep their idle client connections until the next request, and
    # answer it with Connection: close, rather than closing them under a client that is sending one.
    option idle-close-on-response
    # The client's address, for the servers behind (nginx passes it on to the app).
    option forwardfor
    timeout connect ${CONNECT_TIMEOUT_MS}ms
    timeout client 30s
    timeout server ${SERVER_TIMEOUT_MS}ms
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue ${QUEUE_TIMEOUT_S}s
    timeout check ${checkTimeout}ms
    # A request that meets a dead, frozen or closing server (or one killed halfway through its answer) is tried again on another one.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout

frontend www
${front.map((a) => `    bind ${a}:${PORTS.http}`).join('\n')}${vipBinds(PORTS.http)}${
  tls
    ? `
${front.map((a) => `    bind ${a}:${PORTS.https} ssl crt "\${${SITE_PEM_VARIABLE}}" alpn h2,http/1.1`).join('\n')}${vipBinds(PORTS.https, ` ssl crt "\${${SITE_PEM_VARIABLE}}" alpn h2,http/1.1`)}
    # Port 80 only sends people to HTTPS; HTTPS tells browsers to come back that way for a year.
    http-request redirect scheme https code 301 unless { ssl_fc }
    http-response set-header Strict-Transport-Security "max-age=${HSTS_MAX_AGE_S}" if { ssl_fc }
    # The servers behind learn that the user came over HTTPS (the app marks its cookies Secure).
    http-request set-header X-Forwarded-Proto https if { ssl_fc }`
    : ''
}
    # The health of the stack's insides (databases, roles, lag) is for the private side: the
    # public entry says whether it can serve, and no more.
    http-request return status 200 content-type text/plain string "ok" if { path ${healthPaths(design).join(' ')} } { nbsrv(servers) gt 0 }
    http-request return status 503 content-type text/plain string "unavailable" if { path ${healthPaths(design).join(' ')} }
    # The app's metrics are for the monitoring hosts, which scrape it directly, not for the internet.
    http-request return status 404 content-type text/plain string "Not found" if { path /metrics }
    # Every request gets an id, whatever the client sent; the servers behind and the client see it.
    unique-id-format %{+X}o%ci%cp%fi%fp%Ts%ms%rt%pid
    http-request set-header X-Request-ID %[unique-id]
    http-response set-header X-Request-ID %[unique-id]
    # Only idempotent requests are sent twice; a POST is retried only when it never reached a server.
    http-request disable-l7-retry if !METH_GET
    # The retry budget: while requests wait in the queue (overload), a slow answer is not asked for
    # again elsewhere, which would only add load; a refused connection still is (it costs nothing).
    http-request disable-l7-retry if { queue(servers) gt 0 }
    default_backend servers

backend servers
    balance ${design.policies.lb.algorithm}
    # No server had room within ${QUEUE_TIMEOUT_S} s (every one busy, or none up): a clear answer, and when to come back.
    http-error status 503 content-type text/plain string "The site is busy: no server could take this request in time. Try again in a few seconds." hdr Retry-After 5
${
  checks.enabled
    ? `    option httpchk
    http-check send meth GET uri ${checks.path} ver HTTP/1.1 hdr Host ${hostHeader}
    http-check expect status 200
    default-server check inter ${checks.intervalMs}ms fastinter ${fastInterval}ms downinter ${checks.intervalMs}ms fall ${checks.fall} rise ${checks.rise}
`
    : '    # Health checks are off in the design: a dead server is found by failed requests only.\n'
}${backends.map((b) => `    server ${b.host} ${b.address}:${backendPort}${backendPort === PORTS.https || appServesTls(design, b.host) ? ` ssl verify required ca-file ${internalCaFile(context.stackPaths)} verifyhost ${b.host} alpn http/1.1` : ''} maxconn ${SERVER_MAXCONN}`).join('\n')}

frontend stats
${stats.map((a) => `    bind ${a}:${PORTS.haproxyStats}`).join('\n')}
    http-request set-log-level silent
    stats enable
    stats uri /stats
    stats refresh 5s
    http-request use-service prometheus-exporter if { path /metrics }
`;
    const configFile = join(paths.config, 'haproxy.cfg');
    return {
      daemon: 'haproxy',
      host: host.name,
      namespace: host.namespace,
      after: tls ? haproxy.after : haproxy.after.filter((d) => d !== 'pebble' && d !== 'dns'),
      command: ['haproxy', '-W', '-db', '-f', configFile],
      ...(tls ? { env: { [SITE_PEM_VARIABLE]: tls.pem }, init: { command: ['bash', tls.script, 'run'], creates: tls.pem } } : {}),
      files: [{ path: configFile, content: config, mode: 0o644 }, ...(tls ? [{ path: tls.script, content: tls.content, mode: 0o700 }] : [])],
      dirs: [{ path: paths.run }],
      copies: [],
      validate: [tls ? ['bash', '-c', VALIDATE_WITH_PLACEHOLDER, 'haproxy-check', staged(configFile), tls.pem, paths.run] : ['haproxy', '-c', '-f', staged(configFile)]],
      reload: { signal: 'SIGUSR2' },
      readiness: { kind: 'http', url: statsUrl(stats[0]!) },
      readinessTimeoutMs: 10_000,
      log: paths.log,
    };
  },
  async observe(spec, run) {
    if (spec.readiness.kind !== 'http') return null;
    const { exitCode, stdout } = await run(['curl', '--silent', '--fail', '--max-time', '2', `${spec.readiness.url};csv`], 3_000);
    if (exitCode !== 0) return null;
    const servers = parseHaproxyStats(stdout).filter((s) => s.backend === 'servers');
    return { details: { servers }, summary: `balancing: ${servers.map((b) => `${b.server} ${b.status}${b.check ? ` (${b.check})` : ''}`).join(', ')}` } satisfies Observation;
  },
};

/** HAProxy's runtime API, as `deploy` drains and enables servers through it. */
export function adminSocket(paths: DaemonPaths): string {
  return join(paths.run, 'admin.sock');
}

/** The certificate HAProxy serves is named in its config by this variable, set in its environment. */
const SITE_PEM_VARIABLE = 'WEBSTACK_SITE_PEM';
const HSTS_MAX_AGE_S = 365 * 24 * 3600;
/** Mozilla's intermediate configuration (version 5.7), without the DHE suites: ECDHE only. */
const TLS12_CIPHERS = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';
const TLS13_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/**
 * Before the first certificate exists, HAProxy's own check runs with a throwaway self-signed one
 * in its place; HAProxy never serves it, since the ACME client runs before HAProxy starts.
 */
const VALIDATE_WITH_PLACEHOLDER = `config=$1 pem=$2 run=$3
if [ -e "$pem" ]; then export ${SITE_PEM_VARIABLE}="$pem"; exec haproxy -c -f "$config"; fi
scratch=$(mktemp -d "$run/check.XXXXXX"); trap 'rm -rf "$scratch"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=placeholder -keyout "$scratch/key" -out "$scratch/cert" 2>/dev/null
cat "$scratch/cert" "$scratch/key" > "$scratch/site.pem"
${SITE_PEM_VARIABLE}="$scratch/site.pem" haproxy -c -f "$config"`;

/**
 * The load balancer's certificate, from the lab's ACME CA by DNS-01: lego adds the challenge's TXT
 * record to the stack's authoritative server (RFC 2136, signed with the stack's TSIG key), the CA
 * looks it up there, and the certificate and its key become the one PEM file HAProxy serves.
 * Every load balancer gets its own, so each of several behind one name holds a valid one.
 */
function certificate(context: DaemonContext, acme: LabHost): { pem: string; script: string; content: string; names: string[] } {
  const { paths, host, design, topology, secrets } = context;
  const names = design.records.filter((r) => r.hosts.includes(host.name)).map((r) => r.fqdn);
  if (names.length === 0) names.push(design.records[0]?.fqdn ?? design.domain);
  const dns = `${authoritativeServer(topology)}:${PORTS.dns}`;
  const legoDir = join(paths.run, 'acme');
  const pem = join(paths.run, 'site.pem');
  const script = join(paths.config, 'acme.sh');
  const content = `#!/bin/bash
${header('#', context, 'haproxy')}# Obtains (run) or renews (renew) this load balancer's certificate from the lab's ACME CA.
set -euo pipefail
export LEGO_CA_CERTIFICATES=${acmeServerCertificate(context.pathsOf(acme.name, 'pebble'))}
export RFC2136_NAMESERVER=${dns}
export RFC2136_TSIG_ALGORITHM=hmac-sha256.
export RFC2136_TSIG_KEY=${ACME_UPDATE_KEY}
export RFC2136_TSIG_SECRET=${secrets.dnsUpdateKey}
export RFC2136_TTL=10 RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1
command=\${1:-run}
# One order at a time for the whole stack: lego replaces the challenge's TXT record set, so two
# load balancers validating the same name at once would each remove the other's answer.
exec 9>${join(context.stackPaths.run, 'acme.lock')}
flock --timeout 120 9
extra=()
# A renewal asked for by hand renews whatever the expiry, and now (lego waits at random otherwise, as cron jobs should).
if [ "$command" = renew ]; then extra=(--days 100000 --no-random-sleep); fi
lego --accept-tos --email hostmaster@${design.domain} --server ${acmeDirectory(acme)} --key-type ec256 --path ${legoDir} \\
  --dns rfc2136 --dns.resolvers ${dns} --dns.disable-cp ${names.map((n) => `--domains ${n}`).join(' ')} "$command" "\${extra[@]}"
cat ${join(legoDir, 'certificates', `${names[0]}.crt`)} ${join(legoDir, 'certificates', `${names[0]}.key`)} > ${pem}.next
mv ${pem}.next ${pem}
`;
  return { pem, script, content, names };
}

/** The paths the app answers its health on: /healthz, and the design's health-check path. */
function healthPaths(design: DaemonContext['design']): string[] {
  return [...new Set(['/healthz', design.policies.healthChecks.path])];
}

function statsUrl(address: string): string {
  return `http://${address}:${PORTS.haproxyStats}/stats`;
}

export interface BalancedServer {
  readonly backend: string;
  readonly server: string;
  /** HAProxy's word: UP, DOWN, 'UP 1/2' while going down, 'DOWN 1/2' while coming up, MAINT. */
  readonly status: string;
  /** The last health check's result, e.g. L7OK, L4CON (refused), L7TOUT (no answer). */
  readonly check: string;
  /** Requests it is serving now (scur): a drained server is done when this is 0. */
  readonly sessions: number;
}

/** The server rows of HAProxy's CSV statistics (`show stat`, or the stats page's `;csv`). */
export function parseHaproxyStats(csv: string): BalancedServer[] {
  const [head, ...rows] = csv.trim().split('\n');
  const columns = (head ?? '').replace(/^# /, '').split(',');
  const at = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? '';
  return rows
    .map((row) => row.split(','))
    .filter((fields) => !['FRONTEND', 'BACKEND'].includes(at(fields, 'svname')) && at(fields, 'pxname') !== '')
    .map((fields) => ({ backend: at(fields, 'pxname'), server: at(fields, 'svname'), status: at(fields, 'status'), check: at(fields, 'check_status').replace(/^\* ?/, ''), sessions: Number(at(fields, 'scur')) || 0 }));
}

/** Where clients arrive: the addresses of the networks the design's client flows come in on. */
function frontendAddresses({ design, host }: DaemonContext): string[] {
  const networks = design.flows.filter((f) => f.to === host.name && f.fromRole === 'client' && f.purpose === 'http' && f.network !== null).map((f) => f.network!);
  const addresses = [...new Set(networks)].map((n) => host.addresses[n]!);
  return addresses.length > 0 ? addresses : design.networks.filter((n) => n.exposure === 'public' && host.addresses[n.name]).map((n) => host.addresses[n.name]!);
}

/** The stats page and metrics: private networks only (loopback when the host has none). */
export function statsAddresses({ design, host }: Pick<DaemonContext, 'design' | 'host'>): string[] {
  const addresses = design.networks.filter((n) => n.exposure === 'private' && host.addresses[n.name]).map((n) => host.addresses[n.name]!);
  return addresses.length > 0 ? addresses : [LOOPBACK];
}
