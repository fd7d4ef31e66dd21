import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import type { ResolvedStack } from '../../src/design/types.ts';
import { dashboardApp, TOKEN_COOKIE, TOKEN_HEADER, type DashboardBackend, type DashboardEvent } from '../../src/dashboard/app.ts';
import { fromHaproxy, parseHaproxyCounters } from '../../src/dashboard/traffic.ts';
import { dashboardView, type DashboardView } from '../../src/dashboard/view.ts';
import { labError } from '../../src/lab/errors.ts';
import type { Fault } from '../../src/lab/state.ts';
import type { StackStatus } from '../../src/lab/status.ts';
import { assertGolden } from '../helpers.ts';

// The dashboard without a lab: its view of a made-up status, its HTTP API through Hono's
// `app.request` against a backend that records what it is asked, and who may ask it.

const TOKEN = 'test-token-0123456789abcdefghij';

type DaemonFixture = [name: string, state: string, observed?: { details: Record<string, unknown>; summary: string }];

function status(design: ResolvedStack, daemons: Record<string, DaemonFixture[]>, faults: Record<string, Fault> = {}): StackStatus {
  const names = [...design.hosts.map((h) => h.name), 'dns', 'client'];
  return {
    stack: design.stack,
    design: `${design.stack}.yaml`,
    phase: 'running',
    hint: null,
    generation: 1,
    applied: null,
    failure: null,
    errors: [],
    hosts: names.map((name) => ({
      name,
      roles: design.hosts.find((h) => h.name === name)?.roles ?? (name === 'dns' ? ['dns'] : []),
      addresses: design.hosts.find((h) => h.name === name)?.addresses ?? {},
      daemons: (daemons[name] ?? []).map(([daemon, state, observed]) => ({ name: daemon, desired: 'running' as const, state: state as never, hint: null, pid: 1, restarts: 0, reloads: 0, since: '2026-11-24T07:00:00.000Z', errors: [], observed: observed ?? null })),
      fault: faults[name] ?? null,
      firewalled: false,
    })),
  };
}

const healthy = (extra: Record<string, DaemonFixture[]> = {}): Record<string, DaemonFixture[]> => ({
  'lb-01': [['haproxy', 'ready', { details: { servers: [{ backend: 'servers', server: 'server-01', status: 'UP', check: 'L7OK' }, { backend: 'servers', server: 'server-02', status: 'UP', check: 'L7OK' }] }, summary: 'balancing: server-01 UP, server-02 UP' }]],
  'server-01': [['mariadb', 'ready', { details: { role: 'primary' }, summary: 'primary' }], ['app', 'ready'], ['nginx', 'ready']],
  'server-02': [['mariadb', 'ready', { details: { role: 'replica', replication: { primary: '10.71.32.11', io: 'Yes', sql: 'Yes', lagSeconds: 0, error: null } }, summary: 'replica, 0 s behind' }], ['app', 'ready'], ['nginx', 'ready']],
  dns: [['dns', 'ready']],
  ...extra,
});

describe("the dashboard's view of a stack", () => {
  test('shows every host with its state in words, who balances to whom, the database, and what users can do', async () => {
    const design = (await loadDesign('distributed')).stack;
    const view = dashboardView(design, status(design, healthy()), null);
    assert.deepEqual(view.hosts.map((h) => `${h.name} ${h.state}`), ['lb-01 ready', 'server-01 ready', 'server-02 ready', 'dns ready', 'client ready']);
    assert.equal(view.database.writer, 'server-01');
    assert.deepEqual(view.capabilities, { resolve: true, static: true, read: true, write: true });
  });

  test('a killed primary is faulted and takes writes with it; a partitioned host says from whom; a daemon not ready makes its host degraded', async () => {
    const design = (await loadDesign('distributed')).stack;
    const since = '2026-11-24T07:01:00.000Z';
    const partition: Fault = { how: 'partition', since, links: [], partition: { from: ['lb-01'], to: ['server-02'], addresses: {} } };
    const view = dashboardView(
      design,
      status(design, healthy({ 'server-01': [['mariadb', 'faulted'], ['app', 'faulted'], ['nginx', 'faulted']], dns: [['dns', 'restarting']] }), { 'server-01': { how: 'kill', since, links: [] }, 'lb-01': partition, 'server-02': partition }),
      null,
    );
    const line = (name: string) => {
      const h = view.hosts.find((x) => x.name === name)!;
      return `${h.state}: ${h.why}`;
    };
    assert.equal(line('server-01'), `faulted: failed on purpose (kill) since ${since}`);
    assert.equal(line('server-02'), `partitioned: cut off from lb-01 since ${since}`);
    assert.equal(line('lb-01'), `partitioned: cut off from server-02 since ${since}`);
    assert.equal(line('dns'), 'degraded: dns restarting');
    assert.equal(view.database.writer, null, 'no primary that runs');
    assert.equal(view.capabilities.write, false);
  });

  test('on ha, says which load balancer holds the virtual IP and which member holds the write address', async () => {
    const design = (await loadDesign('ha')).stack;
    const [entry, writes] = [design.virtualIps.find((v) => v.role === 'lb')!, design.virtualIps.find((v) => v.role === 'db')!];
    const holds = (addresses: string[]) => ({ details: { virtualIps: [], holds: addresses }, summary: '' });
    const view = dashboardView(design, status(design, { 'lb-02': [['keepalived', 'ready', holds([entry.address])]], 'db-03': [['mariadb', 'ready'], ['keepalived-db', 'ready', holds([writes.address])]] }), null);
    assert.deepEqual(view.virtualIps.map((v) => `${v.role} ${v.holder}`), ['lb lb-02', 'db db-03']);
    assert.equal(view.database.kind, 'galera');
    assert.equal(view.database.writer, 'db-03');
  });
});

describe("the dashboard's traffic from HAProxy's counters", () => {
  const csv = (requests: [number, number, number], errors: number) =>
    [
      '# pxname,svname,stot,req_tot,hrsp_5xx,rtime,status',
      `www,FRONTEND,0,${requests[0]},${errors},,OPEN`,
      `servers,server-01,0,${requests[1]},${errors},4,UP`,
      `servers,server-02,0,${requests[2]},0,7,UP`,
      'servers,BACKEND,0,0,0,5,UP',
      'stats,FRONTEND,0,99,0,,OPEN',
    ].join('\n');

  test('differences two readings into requests a second and an error ratio per tier and server, with their mean response time', () => {
    const before = [parseHaproxyCounters('lb-01', 1_000, csv([100, 50, 50], 0))];
    const after = [parseHaproxyCounters('lb-01', 3_000, csv([300, 160, 140], 10))];
    const view = fromHaproxy(before, after, () => 'web')!;
    assert.equal(view.latency, 'mean');
    assert.deepEqual(view.tiers.map((t) => [t.name, t.requestsPerSecond, t.errorRatio, t.latencyMs]), [['lb', 100, 0.05, null], ['web', 100, 0.05, 7]]);
    assert.deepEqual(view.hosts.map((h) => [h.name, h.requestsPerSecond, h.errorRatio, h.latencyMs]), [['server-01', 55, 0.091, 4], ['server-02', 45, 0, 7]]);
    assert.equal(fromHaproxy([], after, () => 'web'), null, 'one reading is no rate');
  });
});

describe("the dashboard's API", () => {
  async function backendFor(): Promise<{ backend: DashboardBackend; asked: string[]; emit: (e: DashboardEvent) => void }> {
    const design = (await loadDesign('distributed')).stack;
    const view: DashboardView = dashboardView(design, status(design, healthy()), null);
    const asked: string[] = [];
    const listeners = new Set<(e: DashboardEvent) => void>();
    const backend: DashboardBackend = {
      stack: 'distributed',
      view: () => view,
      recent: () => [{ event: 'activity', data: { at: 1, line: 'earlier' } }],
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      diagramSvg: async () => '<svg/>',
      pageScript: async () => 'console.log(1)',
      chartStyle: () => '.u{}',
      logs: async (host) => [`${host}: a line`],
      fail: async (host, how) => void asked.push(`fail ${host} ${how}`),
      heal: async (host) => void asked.push(`heal ${host}`),
      partition: async (from, to) => void asked.push(`partition ${from.join(',')} | ${to.join(',')}`),
      deploy: async (tier) => void asked.push(`deploy ${tier}`),
      prove: async (r) => void asked.push(`prove ${r.faults.join(',')} ${r.only?.join(',') ?? 'all'}`),
      traffic: async (rate) => void asked.push(`traffic ${rate}`),
      proveReport: () => null,
      trace: async (r) => {
        asked.push(`trace ${r.path}${r.data ? ` ${r.data}` : ''}`);
        return { url: `http://www.foobar.com${r.path}`, method: r.data ? 'POST' : 'GET', requestId: 'r-1', ok: true, stopped: null, steps: [], waterfall: [], setCookies: [] };
      },
      requestLines: (id) => [{ at: '2026-11-24T08:00:00.000001Z', host: 'lb-01', program: 'haproxy', message: `request_id=${id}` }],
    };
    return { backend, asked, emit: (e) => listeners.forEach((l) => l(e)) };
  }

  const page = { 'x-webstack-token': TOKEN, 'content-type': 'application/json', origin: 'http://localhost', 'sec-fetch-site': 'same-origin' };

  test('the token in the address becomes a strict, HTTP-only cookie, and a wrong or missing one opens nothing', async () => {
    const app = dashboardApp((await backendFor()).backend, TOKEN);
    assert.equal((await app.request('/')).status, 401);
    assert.equal((await app.request('/api/state')).status, 401);
    assert.equal((await app.request('/?token=wrong')).status, 403);
    const opened = await app.request(`/?token=${TOKEN}`);
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get('location'), '/');
    assert.match(opened.headers.get('set-cookie')!, new RegExp(`^${TOKEN_COOKIE}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict$`));
    const withCookie = await app.request('/api/state', { headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}` } });
    assert.equal(withCookie.status, 200);
    assert.equal(((await withCookie.json()) as DashboardView).hosts.length, 5);
    const html = await (await app.request('/', { headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}` } })).text();
    assert.match(html, /<script type="module" src="\/page.js"><\/script>/);
    assert.doesNotMatch(html, /src="http|href="http/, 'everything from webstack itself, no CDN');
  });

  test('every state-changing request is refused without the token in its header, from another origin, or as a cross-site form', async () => {
    const { backend, asked } = await backendFor();
    const app = dashboardApp(backend, TOKEN);
    const cookie = `${TOKEN_COOKIE}=${TOKEN}`;
    const refusals: [string, Record<string, string>, string][] = [
      ['cookie only', { cookie, 'content-type': 'application/json' }, 'x-webstack-token'],
      ['another origin', { ...page, origin: 'http://evil.example' }, 'from http://evil.example'],
      ['cross-site', { ...page, 'sec-fetch-site': 'cross-site' }, 'cross-site'],
      ['a form', { ...page, 'content-type': 'application/x-www-form-urlencoded' }, 'JSON'],
      ['nothing', {}, ''],
    ];
    for (const path of ['/api/hosts/server-01/fail', '/api/hosts/server-01/heal', '/api/partition', '/api/deploy', '/api/prove', '/api/traffic', '/api/trace']) {
      for (const [what, headers, said] of refusals) {
        const r = await app.request(`http://localhost${path}`, { method: 'POST', headers, body: what === 'a form' ? 'how=kill' : '{}' });
        assert.ok(r.status === 403 || r.status === 401, `${path}, ${what}: ${r.status}`);
        if (said) assert.match(await r.text(), new RegExp(said));
      }
    }
    assert.deepEqual(asked, [], 'the backend was asked nothing');
  });

  test('GET /api/state answers the view as JSON, as its golden file has it', async () => {
    const app = dashboardApp((await backendFor()).backend, TOKEN);
    const r = await app.request('/api/state', { headers: { [TOKEN_HEADER]: TOKEN } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^application\/json/);
    assertGolden('golden/dashboard/distributed-state.json', JSON.stringify(await r.json(), null, 2) + '\n');
  });

  test("the page's own requests reach the backend, and bad ones are refused with what is wrong", async () => {
    const { backend, asked } = await backendFor();
    const app = dashboardApp(backend, TOKEN);
    const post = (path: string, body: unknown) => app.request(`http://localhost${path}`, { method: 'POST', headers: page, body: JSON.stringify(body) });
    for (const [path, body] of [
      ['/api/hosts/server-01/fail', { how: 'freeze' }],
      ['/api/hosts/server-01/fail', {}],
      ['/api/hosts/server-01/heal', {}],
      ['/api/partition', { from: ['lb-01'], to: ['server-02'] }],
      ['/api/deploy', {}],
      ['/api/prove', { faults: ['kill', 'cut'], only: ['lb-01'] }],
      ['/api/traffic', { rate: 50 }],
    ] as const) {
      const r = await post(path, body);
      assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
      assert.deepEqual(await r.json(), { ok: true });
    }
    const traced = await post('/api/trace', { path: '/api/posts', data: '{"author":"a","body":"b"}' });
    assert.equal(((await traced.json()) as { method: string }).method, 'POST');
    assert.deepEqual(asked, ['fail server-01 freeze', 'fail server-01 kill', 'heal server-01', 'partition lb-01 | server-02', 'deploy app', 'prove kill,cut lb-01', 'traffic 50', 'trace /api/posts {"author":"a","body":"b"}']);
    const lines = await app.request('/api/requests/r-1', { headers: { [TOKEN_HEADER]: TOKEN } });
    assert.deepEqual(((await lines.json()) as { lines: { message: string }[] }).lines.map((l) => l.message), ['request_id=r-1']);
    for (const [path, body, said] of [
      ['/api/hosts/server-01/fail', { how: 'explode' }, /how: Invalid option/],
      ['/api/hosts/server-01/fail', { how: 'partition' }, /how: Invalid option/],
      ['/api/partition', { from: ['lb-01'], to: ['lb-01'] }, /lb-01 cannot be on both sides/],
      ['/api/traffic', { rate: 100_000 }, /rate: Too big/],
      ['/api/hosts/Server%201/heal', {}, /a host name/],
      ['/api/trace', { path: 'http://example.com/' }, /path: /],
    ] as const) {
      const r = await post(path, body);
      assert.equal(r.status, 400, path);
      assert.match(((await r.json()) as { error: string }).error, said);
    }
  });

  test("the lab's refusals reach the page with their message and fix: 404 for no such host, 409 for one already failed", async () => {
    const { backend } = await backendFor();
    const app = dashboardApp({ ...backend, fail: async (host) => { throw host === 'nobody' ? labError('no-host', `stack 'distributed' has no host 'nobody'.`) : labError('fault-exists', `host ${host} is already failed (kill, since then).`); } }, TOKEN);
    const fail = (host: string) => app.request(`http://localhost/api/hosts/${host}/fail`, { method: 'POST', headers: page, body: '{}' });
    const missing = await fail('nobody');
    assert.equal(missing.status, 404);
    const twice = await fail('server-01');
    assert.equal(twice.status, 409);
    assert.deepEqual(await twice.json(), { error: 'host server-01 is already failed (kill, since then).', fix: 'npx webstack heal <host>' });
  });

  test('pushes the view first, then what happened, as server-sent events', async () => {
    const { backend, emit } = await backendFor();
    const app = dashboardApp(backend, TOKEN);
    const response = await app.request('/api/events', { headers: { [TOKEN_HEADER]: TOKEN } });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    setTimeout(() => emit({ event: 'activity', data: { at: 2, line: 'server-01: killed 9 processes' } }), 20);
    while (!text.includes('killed 9 processes')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(events, ['state', 'activity', 'activity']);
    assert.match(text, /data: \{"at":1,"line":"earlier"\}/);
  });
});
