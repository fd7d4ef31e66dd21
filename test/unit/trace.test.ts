import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTrace, formatTrace, parseAppLine, parseCurl, parseDig, parseHaproxyLine, parseNginxLine, type TraceEvidence } from '../../src/trace/trace.ts';
import { assertGolden } from '../helpers.ts';

// `trace` without a lab: the evidence as dig, curl and the tiers' logs print it (in webstack's own
// log formats), read into numbered steps.

const MARKER = '__webstack_trace__';
const ID = 'CB7100220A2F_CB71000A1F90_69441B20_0001';

const DIG = `www.foobar.com.\t\t300\tIN\tA\t203.0.113.42
;; Query time: 1 msec
;; SERVER: 203.0.113.35#53(203.0.113.35) (UDP)
;; WHEN: Tue Nov 24 08:00:00 UTC 2026
;; MSG SIZE  rcvd: 59
`;

function curlOut(status: number, headers: Record<string, string>, body: string, info: Record<string, unknown> = {}): string {
  const head = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Service Unavailable'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  const json = { response_code: status, remote_ip: '203.0.113.42', http_version: '1.1', size_download: body.length, time_namelookup: 0.001, time_connect: 0.0012, time_appconnect: 0, time_starttransfer: 0.0061, time_total: 0.0065, local_ip: '203.0.113.34', local_port: 41234, exitcode: 0, errormsg: null, ssl_verify_result: 0, ...info };
  return `${head}\r\n\r\n${body}\n${MARKER}${JSON.stringify(json)}`;
}

const haproxy = (server: string, timers: string, status: number, termination = '----', retries = '0') => `203.0.113.34:41234 [24/Nov/2026:08:00:00.123] www servers/${server} ${timers} ${status} 512 ${termination} 1/1/0/0/${retries} 0/0 request_id=${ID} "GET /api/posts HTTP/1.1"`;
const NGINX_PROXIED = `10.71.32.10 "GET /api/posts HTTP/1.1" 200 512 0.005s upstream=127.0.0.1:8000 0.004s forwarded-for="203.0.113.34" request_id=${ID}`;
const NGINX_STATIC = `10.71.32.10 "GET /static/style.css HTTP/1.1" 200 880 0.000s upstream=- -s forwarded-for="203.0.113.34" request_id=${ID}`;
const APP = JSON.stringify({ level: 30, time: 1, msg: 'request', method: 'GET', path: '/api/posts', status: 200, ms: 3, requestId: ID, readFrom: 'server-02', readReason: 'replica' });

function evidence(over: Partial<TraceEvidence> = {}): TraceEvidence {
  return {
    url: 'http://www.foobar.com/api/posts',
    method: 'GET',
    requestId: ID,
    domainName: 'www.foobar.com',
    dns: { ...parseDig(DIG), serverHost: 'dns', line: 'www.foobar.com. 300 IN A 203.0.113.42' },
    curl: parseCurl(curlOut(200, { 'x-request-id': ID, 'x-served-by': 'server-01', 'x-read-from': 'server-02', 'x-read-reason': 'replica' }, '{"posts":[]}'), '', MARKER),
    hostOf: { '203.0.113.42': 'lb-01', '203.0.113.35': 'dns', '10.71.32.11': 'server-01', '10.71.32.12': 'server-02', '127.0.0.1': 'server-01' },
    virtualIps: {},
    lb: { host: 'lb-01', line: haproxy('server-01', '0/0/1/4/5', 200), parsed: parseHaproxyLine(haproxy('server-01', '0/0/1/4/5', 200))!, algorithm: 'roundrobin', health: { 'server-01': 'UP', 'server-02': 'UP' } },
    hasLb: true,
    web: { host: 'server-01', line: NGINX_PROXIED, parsed: parseNginxLine(NGINX_PROXIED)! },
    hasWeb: true,
    app: { host: 'server-01', line: APP, parsed: parseAppLine(APP)! },
    write: null,
    ...over,
  };
}

describe("trace's reading of the evidence", () => {
  test("reads dig, curl and each tier's log line in webstack's formats", () => {
    assert.deepEqual(parseDig(DIG), { server: '203.0.113.35', records: [{ name: 'www.foobar.com', ttl: 300, address: '203.0.113.42' }], queryMs: 1 });
    const lb = parseHaproxyLine(haproxy('<NOSRV>', '0/-1/-1/-1/0', 503, 'SC--', '+2'))!;
    assert.deepEqual([lb.client, lb.server, lb.status, lb.termination, lb.retries, lb.redispatched, lb.requestId], ['203.0.113.34:41234', '<NOSRV>', 503, 'SC--', 2, true, ID]);
    assert.deepEqual(parseNginxLine(NGINX_STATIC), { status: 200, bytes: 880, requestMs: 0, upstream: null, upstreamMs: null, requestId: ID });
    assert.deepEqual(parseNginxLine(NGINX_PROXIED)!.upstream, '127.0.0.1:8000');
    assert.equal(parseAppLine(APP)!.readReason, 'replica');
    assert.equal(parseAppLine('{"msg":"started"}'), null);
    const curl = parseCurl(curlOut(200, { 'x-request-id': ID, 'set-cookie': 'wrote=1; Max-Age=5; Path=/; HttpOnly' }, '{"ok":true}'), '* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384 / X25519 / id-ecPublicKey\n*  subject: CN=www.foobar.com\n*  issuer: CN=Pebble Intermediate CA 1a2b3c\n*  expire date: Feb 22 08:00:00 2027 GMT', MARKER);
    assert.deepEqual([curl.status, curl.headers['x-request-id'], curl.setCookies, curl.body, curl.tls?.version, curl.tls?.subject, curl.tls?.verified], [200, ID, ['wrote=1'], '{"ok":true}', 'TLSv1.3', 'CN=www.foobar.com', true]);
  });

  test('a read: numbered as the seeds tell it, each step with where, how long and why, and a waterfall; golden', () => {
    const trace = buildTrace(evidence());
    assert.deepEqual(trace.steps.map((s) => `${s.n} ${s.step}`), ['1 resolve', '2 connect', '3 balance', '4 web', '5 app', '6 answer']);
    assert.equal(trace.ok, true);
    assert.equal(trace.requestId, ID);
    assert.deepEqual(trace.waterfall.map((w) => w.hop), ['client', 'load balancer lb-01', 'nginx server-01', 'app server-01']);
    assertGolden('golden/trace/distributed-read.txt', formatTrace(trace));
    assertGolden('golden/trace/distributed-read.json', JSON.stringify(trace, null, 2) + '\n');
  });

  test('a static file has no app step; a tier without a log line says it was not observed rather than guess', () => {
    const file = buildTrace(evidence({ web: { host: 'server-02', line: NGINX_STATIC, parsed: parseNginxLine(NGINX_STATIC)! }, app: null }));
    assert.deepEqual(file.steps.map((s) => s.step), ['resolve', 'connect', 'balance', 'web', 'answer']);
    assert.match(file.steps[3]!.said, /nginx on server-02: served the file itself \(200, 880 bytes\)/);
    const unseen = buildTrace(evidence({ lb: null }));
    assert.deepEqual(unseen.steps.find((s) => s.step === 'balance'), { n: 3, step: 'balance', said: 'load balancer: not observed (no line of its log names this request)', where: 'lb-01', ms: null, why: null, evidence: [], observed: false });
  });

  test('a failed request says where it stopped and why: no healthy server at the LB, no connection, the app without its database', () => {
    const down = { 'server-01': 'DOWN', 'server-02': 'DOWN' };
    const noServer = buildTrace(evidence({ curl: parseCurl(curlOut(503, { 'x-request-id': ID }, '<html>503</html>'), '', MARKER), lb: { host: 'lb-01', line: haproxy('<NOSRV>', '0/-1/-1/-1/0', 503, 'SC--'), parsed: parseHaproxyLine(haproxy('<NOSRV>', '0/-1/-1/-1/0', 503, 'SC--'))!, algorithm: 'roundrobin', health: down }, web: null, app: null }));
    assert.equal(noServer.ok, false);
    assert.deepEqual(noServer.stopped, { step: 'balance', why: 'lb-01 had no healthy server (server-01 DOWN, server-02 DOWN)' });
    assert.deepEqual(noServer.steps.map((s) => s.step), ['resolve', 'connect', 'balance', 'answer']);

    const refused = buildTrace(evidence({ curl: parseCurl(`\n${MARKER}${JSON.stringify({ response_code: 0, exitcode: 7, errormsg: 'Failed to connect to www.foobar.com port 80 after 1 ms: Couldn\'t connect to server', time_connect: 0, remote_ip: '' })}`, '', MARKER), lb: null, web: null, app: null }));
    assert.equal(refused.stopped?.step, 'connect');
    assert.match(refused.stopped!.why, /could not connect to 203\.0\.113\.42 \(lb-01\): Failed to connect/);

    const appLine = JSON.stringify({ msg: 'request', method: 'POST', path: '/api/posts', status: 503, ms: 2001, requestId: ID });
    const noPrimary = buildTrace(evidence({ method: 'POST', curl: parseCurl(curlOut(503, { 'x-request-id': ID }, '{"error":"the primary database (server-01) is unavailable","primary":"server-01"}'), '', MARKER), app: { host: 'server-02', line: appLine, parsed: parseAppLine(appLine)! }, write: { writer: 'server-01', acknowledged: 'committed on the primary' } }));
    assert.deepEqual(noPrimary.stopped, { step: 'app', why: 'the application on server-02 could not answer: the primary database (server-01) is unavailable' });
    assert.match(formatTrace(noPrimary), /✗ stopped at app: the application on server-02 could not answer/);
  });
});
