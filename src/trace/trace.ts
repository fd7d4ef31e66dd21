// `webstack trace`, pure: one real request's path through the stack, numbered as the seeds'
// "Request Flow" explains it (the name, the connection, the load balancer's choice, the web
// server, the application, the answer), each step with what happened, where, how long it took,
// why, and the evidence it comes from: the client's own view (dig, curl) and the lines each tier
// logged under the request's id. A step that could not be observed says so; a request that failed
// says where it stopped and why. The lab gathers the evidence (lab/trace.ts); this reads it.

export interface DigAnswer {
  /** The server that answered, by address. */
  readonly server: string | null;
  readonly records: readonly { readonly name: string; readonly ttl: number; readonly address: string }[];
  readonly queryMs: number | null;
}

/** `dig` output: who answered, the A records, how long it took. */
export function parseDig(out: string): DigAnswer {
  const server = out.match(/^;; SERVER: ([\d.]+)#/m)?.[1] ?? null;
  const records = [...out.matchAll(/^(\S+)\s+(\d+)\s+IN\s+A\s+([\d.]+)$/gm)].map((m) => ({ name: m[1]!.replace(/\.$/, ''), ttl: Number(m[2]), address: m[3]! }));
  const query = out.match(/^;; Query time: (\d+) msec/m);
  return { server, records, queryMs: query ? Number(query[1]) : null };
}

export interface CurlView {
  readonly status: number | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly setCookies: readonly string[];
  readonly body: string;
  readonly remoteIp: string | null;
  /** The client's end of the connection: the load balancer's log names it. */
  readonly local: string | null;
  readonly httpVersion: string | null;
  readonly bytes: number;
  /** curl's own timings from the start, ms: name lookup, TCP connected, TLS done, first byte, all. */
  readonly timings: { readonly lookupMs: number; readonly connectMs: number; readonly tlsMs: number; readonly firstByteMs: number; readonly totalMs: number };
  readonly tls: { readonly version: string; readonly cipher: string; readonly subject: string | null; readonly issuer: string | null; readonly expires: string | null; readonly verified: boolean } | null;
  readonly error: string | null;
}

/** What `curl -sS -v -D - -w '\n<marker>%{json}'` printed: the headers and body on stdout, TLS details on stderr. */
export function parseCurl(stdout: string, stderr: string, marker: string): CurlView {
  const at = stdout.lastIndexOf(`\n${marker}`);
  const info = (at >= 0 ? JSON.parse(stdout.slice(at + marker.length + 1)) : {}) as Record<string, unknown>;
  const text = at >= 0 ? stdout.slice(0, at) : stdout;
  // The last header block is the answer's (one of 100 Continue may come before it).
  const blocks = text.split(/\r?\n\r?\n/);
  let headIndex = 0;
  for (let i = 0; i < blocks.length; i++) if (/^HTTP\/\S+ \d{3}/.test(blocks[i]!)) headIndex = i;
  const head = /^HTTP\//.test(blocks[headIndex] ?? '') ? blocks[headIndex]! : '';
  const headers: Record<string, string> = {};
  const setCookies: string[] = [];
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') setCookies.push(value.split(';')[0]!);
    else headers[name] = value;
  }
  const seconds = (key: string) => Math.round(Number(info[key] ?? 0) * 1000 * 10) / 10;
  const tlsLine = stderr.match(/^\* SSL connection using (\S+) \/ (\S+)/m);
  const field = (name: string) => stderr.match(new RegExp(`^\\*\\s+${name}: (.+)$`, 'm'))?.[1]?.trim() ?? null;
  const status = Number(info.response_code ?? 0) || (head ? Number(head.split(' ')[1]) : 0);
  const error = typeof info.errormsg === 'string' && info.errormsg ? info.errormsg : Number(info.exitcode ?? 0) !== 0 ? `curl exited with status ${String(info.exitcode)}` : null;
  return {
    status: status || null,
    headers,
    setCookies,
    body: head ? blocks.slice(headIndex + 1).join('\n\n') : '',
    remoteIp: typeof info.remote_ip === 'string' && info.remote_ip ? info.remote_ip : null,
    local: typeof info.local_ip === 'string' && info.local_ip && Number(info.local_port) > 0 ? `${info.local_ip}:${String(info.local_port)}` : null,
    httpVersion: typeof info.http_version === 'string' && info.http_version !== '0' ? info.http_version : null,
    bytes: Number(info.size_download ?? 0),
    timings: { lookupMs: seconds('time_namelookup'), connectMs: seconds('time_connect'), tlsMs: seconds('time_appconnect'), firstByteMs: seconds('time_starttransfer'), totalMs: seconds('time_total') },
    tls: tlsLine ? { version: tlsLine[1]!, cipher: tlsLine[2]!, subject: field('subject'), issuer: field('issuer'), expires: field('expire date'), verified: Number(info.ssl_verify_result ?? 0) === 0 } : null,
    error,
  };
}

export interface HaproxyLine {
  /** The client's address and port, as HAProxy saw them. */
  readonly client: string;
  readonly backend: string;
  /** The server chosen, or '<NOSRV>' when there was none to choose. */
  readonly server: string;
  /** HAProxy's timers, ms: receiving the request, queued, connecting to the server, the server's answer, the whole. */
  readonly timers: { readonly request: number; readonly queued: number; readonly connect: number; readonly response: number; readonly active: number };
  readonly status: number;
  readonly bytes: number;
  /** The termination state: '----' for a normal end; e.g. 'SC--' for a server refusing. */
  readonly termination: string;
  readonly retries: number;
  readonly redispatched: boolean;
  readonly requestId: string;
}

const HAPROXY_LINE = /(\S+:\d+) \[[^\]]+\] \S+ (\S+)\/(\S+) (-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+) (-?\d+) (\d+) (\S+) \d+\/\d+\/\d+\/\d+\/(\+?)(\d+) \d+\/\d+ request_id=(\S+) "/;

/** A line of HAProxy's log in webstack's log-format (daemons/haproxy.ts), or null. */
export function parseHaproxyLine(line: string): HaproxyLine | null {
  const m = HAPROXY_LINE.exec(line);
  if (!m) return null;
  const n = (i: number) => Number(m[i]);
  return { client: m[1]!, backend: m[2]!, server: m[3]!, timers: { request: n(4), queued: n(5), connect: n(6), response: n(7), active: n(8) }, status: n(9), bytes: n(10), termination: m[11]!, redispatched: m[12] === '+', retries: n(13), requestId: m[14]! };
}

export interface NginxLine {
  readonly status: number;
  readonly bytes: number;
  readonly requestMs: number;
  /** Where it passed the request (address:port), or null when it served it itself. */
  readonly upstream: string | null;
  readonly upstreamMs: number | null;
  readonly requestId: string;
}

const NGINX_LINE = /^\S+ "[^"]*" (\d{3}) (\d+) ([\d.]+)s upstream=(\S+) (\S+)s forwarded-for="[^"]*" request_id=(\S+)$/;

/** A line of nginx's access log in webstack's format (daemons/nginx.ts), or null. */
export function parseNginxLine(line: string): NginxLine | null {
  const m = NGINX_LINE.exec(line.trim());
  if (!m) return null;
  const upstream = m[4] === '-' ? null : m[4]!.split(', ').at(-1)!;
  const upstreamMs = m[5] === '-' ? null : Math.round(Number(m[5]!.split(', ').at(-1)) * 1000);
  return { status: Number(m[1]), bytes: Number(m[2]), requestMs: Math.round(Number(m[3]) * 1000), upstream, upstreamMs, requestId: m[6]! };
}

export interface AppLine {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly requestId: string;
  readonly readFrom?: string;
  readonly readReason?: string;
  readonly cache?: string;
}

/** A request line of the app's JSON log, or null. */
export function parseAppLine(line: string): AppLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry = JSON.parse(line) as Partial<AppLine> & { msg?: string };
    return entry.msg === 'request' && typeof entry.requestId === 'string' ? (entry as AppLine) : null;
  } catch {
    return null;
  }
}

/** The evidence of one request, as the lab gathered it. */
export interface TraceEvidence {
  readonly url: string;
  readonly method: string;
  /** The request's id in the tiers' logs; null when no tier saw it. */
  readonly requestId: string | null;
  readonly domainName: string;
  /** Null when the URL names an address, not a name. */
  readonly dns: (DigAnswer & { readonly serverHost: string | null; readonly line: string }) | null;
  readonly curl: CurlView;
  /** The host that has each lab address now (a virtual IP: its holder). */
  readonly hostOf: Readonly<Record<string, string>>;
  /** The design's virtual IPs, by address. */
  readonly virtualIps: Readonly<Record<string, { readonly holders: readonly string[] }>>;
  readonly lb: { readonly host: string; readonly line: string; readonly parsed: HaproxyLine; readonly algorithm: string; readonly health: Readonly<Record<string, string>> } | null;
  readonly hasLb: boolean;
  readonly web: { readonly host: string; readonly line: string; readonly parsed: NginxLine } | null;
  readonly hasWeb: boolean;
  readonly app: { readonly host: string; readonly line: string; readonly parsed: AppLine } | null;
  /** For a write: the database that takes writes now, and how it acknowledges one. */
  readonly write: { readonly writer: string | null; readonly acknowledged: string } | null;
}

export type StepKind = 'resolve' | 'connect' | 'balance' | 'web' | 'app' | 'answer';

export interface TraceStep {
  readonly n: number;
  readonly step: StepKind;
  /** One line of plain language. */
  readonly said: string;
  readonly where: string | null;
  readonly ms: number | null;
  readonly why: string | null;
  /** The log line or record it comes from; empty for a step that could not be observed. */
  readonly evidence: readonly string[];
  readonly observed: boolean;
}

export interface Trace {
  readonly url: string;
  readonly method: string;
  readonly requestId: string | null;
  readonly ok: boolean;
  /** Where a failed request stopped, and why; null when it did not fail. */
  readonly stopped: { readonly step: StepKind; readonly why: string } | null;
  readonly steps: readonly TraceStep[];
  /** Each hop's time, outermost first: what the client waited, what the LB, nginx and the app took of it. */
  readonly waterfall: readonly { readonly hop: string; readonly ms: number }[];
  /** Cookies the answer set: `--session` sends them back, as the same client would. */
  readonly setCookies: readonly string[];
}

const READ_REASONS: Record<string, string> = {
  replica: 'a replica is up to date, and reads go to replicas',
  'read-your-writes': 'read-your-writes: this client has just written, so it reads from the primary, which has its write',
  fallback: 'no replica could serve it (down, or too far behind), so it fell back to the primary',
  'primary-only': 'the primary is the only database',
};

export function buildTrace(e: TraceEvidence): Trace {
  const steps: Omit<TraceStep, 'n'>[] = [];
  let stopped: Trace['stopped'] = null;
  const stop = (step: StepKind, why: string) => (stopped ??= { step, why });
  const { curl } = e;
  const entryAddress = curl.remoteIp ?? e.dns?.records[0]?.address ?? null;
  const entryHost = entryAddress ? (e.hostOf[entryAddress] ?? null) : null;

  // 1. The name.
  if (e.dns) {
    const records = e.dns.records.map((r) => `${r.address} (TTL ${r.ttl} s)`);
    const vip = entryAddress ? e.virtualIps[entryAddress] : undefined;
    steps.push({
      step: 'resolve',
      said: records.length
        ? `DNS: ${e.domainName} is ${records.join(', ')}, answered by ${e.dns.serverHost ?? e.dns.server ?? 'a DNS server'}${records.length > 1 ? `; the client used ${entryAddress}` : ''}${vip ? `, a virtual IP held now by ${entryHost ?? 'nobody'} (of ${vip.holders.join(', ')})` : ''}`
        : `DNS: ${e.domainName} has no A record the client could get`,
      where: e.dns.serverHost,
      ms: e.dns.queryMs,
      why: records.length > 1 ? 'several A records: the client takes the first, and tries the next if it fails' : vip ? 'one A record for a virtual IP, which keepalived moves to a live load balancer' : records.length ? 'the A record of the entry' : null,
      evidence: e.dns.line ? [e.dns.line] : [],
      observed: true,
    });
    if (!records.length) stop('resolve', `${e.domainName} did not resolve`);
  }

  // 2. The connection.
  if (!stopped) {
    const tls = curl.tls;
    const connected = curl.timings.connectMs > 0 || curl.status !== null;
    steps.push({
      step: 'connect',
      said: connected
        ? `connection: to ${entryAddress}${entryHost ? ` (${entryHost})` : ''}${tls ? `, ${tls.version} (${tls.cipher}), certificate ${tls.subject ?? '?'} from ${tls.issuer ?? '?'}${tls.verified ? ', verified' : ', NOT verified'}` : ', plain HTTP'}${curl.httpVersion ? `, HTTP/${curl.httpVersion}` : ''}`
        : `connection: none to ${entryAddress ?? 'the entry'}${entryHost ? ` (${entryHost})` : ''}: ${curl.error ?? 'no answer'}`,
      where: entryHost,
      ms: Math.round(((tls ? curl.timings.tlsMs : curl.timings.connectMs) - curl.timings.lookupMs) * 10) / 10,
      why: tls ? `TLS ends at ${entryHost ?? 'the entry'}` : null,
      evidence: tls ? [`SSL connection using ${tls.version} / ${tls.cipher}`, ...(tls.subject ? [`subject: ${tls.subject}`] : []), ...(tls.expires ? [`expire date: ${tls.expires}`] : [])] : [],
      observed: true,
    });
    if (!connected) stop('connect', `the client could not connect to ${entryAddress ?? 'the entry'}${entryHost ? ` (${entryHost})` : ''}: ${curl.error ?? 'no answer'}`);
  }

  // 3. The load balancer.
  if (!stopped && e.hasLb) {
    const lb = e.lb;
    if (!lb) {
      steps.push({ step: 'balance', said: 'load balancer: not observed (no line of its log names this request)', where: entryHost, ms: null, why: null, evidence: [], observed: false });
    } else {
      const p = lb.parsed;
      const noServer = p.server === '<NOSRV>';
      const health = Object.entries(lb.health).map(([server, status]) => `${server} ${status}`).join(', ');
      steps.push({
        step: 'balance',
        said: noServer
          ? `load balancer ${lb.host}: no server to send it to (${health || 'no server up'}); it answered ${p.status} itself`
          : `load balancer ${lb.host}: chose ${p.server} by ${lb.algorithm}${p.retries > 0 ? `, after ${p.retries} retr${p.retries === 1 ? 'y' : 'ies'}${p.redispatched ? ' and a redispatch to another server' : ''}` : ''}; waited ${p.timers.queued} ms in the queue, ${p.timers.connect} ms to connect, ${p.timers.response} ms for the answer`,
        where: lb.host,
        ms: p.timers.active,
        why: noServer ? 'every server failed its health checks' : `${lb.algorithm}, among the servers that pass their health checks (${health})`,
        evidence: [lb.line],
        observed: true,
      });
      if (noServer) stop('balance', `${lb.host} had no healthy server (${health || 'none up'})`);
    }
  }

  // 4. The web server.
  if (!stopped && e.hasWeb) {
    const web = e.web;
    if (!web) {
      steps.push({ step: 'web', said: 'web server: not observed (no line of an nginx log names this request)', where: null, ms: null, why: null, evidence: [], observed: false });
    } else {
      const p = web.parsed;
      // An app on the same host is reached over loopback.
      const address = p.upstream?.split(':')[0];
      const to = address === undefined ? null : address.startsWith('127.') ? web.host : (e.hostOf[address] ?? p.upstream);
      steps.push({
        step: 'web',
        said: p.upstream ? `nginx on ${web.host}: passed it to the application server on ${to}${p.upstreamMs !== null ? ` (${p.upstreamMs} ms)` : ''}` : `nginx on ${web.host}: served the file itself (${p.status}, ${p.bytes} bytes)`,
        where: web.host,
        ms: p.requestMs,
        why: p.upstream ? 'not a static file: the application answers it' : 'a static file, which nginx serves from disk without the application',
        evidence: [web.line],
        observed: true,
      });
      if (p.upstream && p.status === 502) stop('web', `nginx on ${web.host} could not reach the application server on ${to}`);
    }
  }

  // 5. The application.
  const servedByNginx = e.web !== null && e.web.parsed.upstream === null;
  if (!stopped && !servedByNginx) {
    const app = e.app;
    if (!app) {
      steps.push({ step: 'app', said: 'application: not observed (no line of an app log names this request)', where: null, ms: null, why: null, evidence: [], observed: false });
    } else {
      const p = app.parsed;
      const parts = [`${p.method} ${p.path} answered ${p.status} in ${p.ms} ms`];
      if (p.cache) parts.push(`the cache: ${p.cache}`);
      if (p.readFrom) parts.push(`read from ${p.readFrom}`);
      if (e.write && e.method === 'POST') parts.push(`written to ${e.write.writer ?? 'no database'}${p.status === 201 ? `, acknowledged: ${e.write.acknowledged}` : ''}`);
      let why: string | null = p.readReason ? (READ_REASONS[p.readReason] ?? p.readReason) : null;
      if (p.cache === 'hit') why = 'the cache had this page of posts, so no database was asked';
      if (p.status >= 500) {
        const said = appError(curl.body);
        why = said ?? why;
        stop('app', `the application on ${app.host} could not answer: ${said ?? `status ${p.status}`}`);
      }
      steps.push({ step: 'app', said: `application on ${app.host}: ${parts.join('; ')}`, where: app.host, ms: p.ms, why, evidence: [app.line], observed: true });
    }
  }

  // 6. The answer.
  if (curl.status !== null) {
    steps.push({
      step: 'answer',
      said: `answer: ${curl.status}, ${curl.bytes} bytes, ${curl.timings.totalMs} ms in all for the client${curl.headers['x-served-by'] ? `, served by ${curl.headers['x-served-by']}` : ''}`,
      where: null,
      ms: curl.timings.totalMs,
      why: null,
      evidence: [`HTTP/${curl.httpVersion ?? '?'} ${curl.status}`, ...['x-request-id', 'x-served-by', 'x-read-from', 'x-read-reason', 'x-cache'].filter((h) => curl.headers[h]).map((h) => `${h}: ${curl.headers[h]}`)],
      observed: true,
    });
    if (curl.status >= 500 && !stopped) stop('answer', `the stack answered ${curl.status}${appError(curl.body) ? `: ${appError(curl.body)}` : ''}`);
  }

  const waterfall = [
    { hop: 'client', ms: curl.timings.totalMs },
    ...(e.lb ? [{ hop: `load balancer ${e.lb.host}`, ms: e.lb.parsed.timers.active }] : []),
    ...(e.web ? [{ hop: `nginx ${e.web.host}`, ms: e.web.parsed.requestMs }] : []),
    ...(e.app && !servedByNginx ? [{ hop: `app ${e.app.host}`, ms: e.app.parsed.ms }] : []),
  ];
  const finalStop = stopped as Trace['stopped'];
  return { url: e.url, method: e.method, requestId: e.requestId, ok: finalStop === null && curl.status !== null && curl.status < 400, stopped: finalStop, steps: steps.map((s, i) => ({ n: i + 1, ...s })), waterfall, setCookies: curl.setCookies };
}

function appError(body: string): string | null {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return typeof error === 'string' ? error : null;
  } catch {
    return null;
  }
}

/** The trace as a person reads it: numbered steps, each with its why and evidence, then a waterfall. */
export function formatTrace(t: Trace): string {
  const lines = [`${t.method} ${t.url}${t.requestId ? ` (request ${t.requestId})` : ''}`, ''];
  for (const s of t.steps) {
    lines.push(`${s.n}. ${s.said}${s.ms !== null ? ` [${s.ms} ms]` : ''}`);
    if (s.why) lines.push(`   why: ${s.why}`);
    for (const evidence of s.evidence) lines.push(`   | ${evidence}`);
  }
  const widest = Math.max(1, ...t.waterfall.map((w) => w.ms));
  if (t.waterfall.length > 1) {
    lines.push('', 'time at each hop:');
    for (const w of t.waterfall) lines.push(`  ${w.hop.padEnd(28)} ${'█'.repeat(Math.max(1, Math.round((w.ms / widest) * 30))).padEnd(30)} ${w.ms} ms`);
  }
  if (t.stopped) lines.push('', `✗ stopped at ${t.stopped.step}: ${t.stopped.why}`);
  if (t.setCookies.length) lines.push('', `the answer set ${t.setCookies.join('; ')}: --session '${t.setCookies.join('; ')}' asks again as this client`);
  return lines.join('\n') + '\n';
}
