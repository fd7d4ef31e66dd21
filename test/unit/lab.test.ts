import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import { down } from '../../src/lab/down.ts';
import { RecordingTarget } from '../../src/lab/recording-target.ts';
import { networkSteps, planLab } from '../../src/plan/plan.ts';
import { LabError } from '../../src/lab/errors.ts';
import { checkAddressSpace } from '../../src/lab/preflight.ts';
import { probeCommand, probePassed } from '../../src/plan/probe.ts';
import { pickStack, stateFromPlan, writeState } from '../../src/lab/state.ts';
import { parseHaproxyStats } from '../../src/daemons/haproxy.ts';
import { parseSlaveStatus } from '../../src/daemons/mariadb.ts';
import { checkLoadRequest } from '../../src/lab/load.ts';
import { readOrCreateSecrets } from '../../src/lab/files.ts';
import { formatLoad } from '../../src/load/format.ts';
import { failoverWindow, generateLoad, percentile } from '../../src/load/generator.ts';
import { topology } from '../../src/plan/topology.ts';
import { designFrom, FIXED } from '../helpers.ts';

// The lab's pure parts and its command sequences, through the recording executor: no root needed.

function withHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'webstack-home-'));
  return fn(home).finally(() => rmSync(home, { recursive: true, force: true }));
}

describe('lab topology', () => {
  test('every host gets a namespace prefixed with the stack, and link names fit the kernel limit', async () => {
    const wiring = topology((await loadDesign('ha')).stack, 'my-stack');
    for (const h of wiring.hosts) {
      assert.ok(h.namespace.startsWith('my-stack-'), h.namespace);
      for (const i of h.interfaces) assert.ok(i.peer.length <= 15 && i.name.length <= 15, i.peer);
    }
    for (const b of wiring.bridges) assert.ok(b.name.length <= 15);
    assert.equal(new Set(wiring.hosts.flatMap((h) => h.interfaces.map((i) => i.peer))).size, wiring.hosts.flatMap((h) => h.interfaces).length);
  });

  test('every lab address is given inside a lab namespace, none to this machine', async () => {
    for (const name of ['simple', 'distributed', 'secured', 'ha']) {
      const steps = networkSteps(topology((await loadDesign(name)).stack));
      const addressSteps = steps.filter((s) => s.argv.includes('addr'));
      assert.ok(addressSteps.length > 0, name);
      for (const s of addressSteps) assert.equal(s.argv[1], '-n', `${name}: ${s.argv.join(' ')} gives this machine a lab address`);
    }
  });

  test('managed DNS gets a host of its own, on a free address, and the client resolves through it', () => {
    const { stack } = designFrom(`
stack: t
domain: example.com
networks: { public: { cidr: 198.51.100.0/24 } }
hosts:
  dns: { roles: [web, app, db-primary], networks: [public], address: 198.51.100.3 }
`);
    const wiring = topology(stack);
    const provider = wiring.hosts.find((h) => h.kind === 'managed-dns')!;
    assert.equal(provider.name, 'dns-managed', 'the name dns is taken by a design host');
    assert.deepEqual(provider.addresses, { public: '198.51.100.4' });
    assert.equal(wiring.hosts.find((h) => h.kind === 'client')!.resolver, '198.51.100.4');
  });

  test('a design with its own dns hosts gets no extra DNS host, and its clients resolve through them', () => {
    const { stack } = designFrom(`
stack: t
domain: example.com
networks: { public: { cidr: 198.51.100.0/24 } }
hosts:
  ns-01: { roles: [dns], networks: [public] }
  server-01: { roles: [web, app, db-primary], networks: [public] }
`);
    const wiring = topology(stack);
    assert.deepEqual(wiring.hosts.map((h) => [h.name, h.kind]), [['ns-01', 'design'], ['server-01', 'design'], ['client', 'client']]);
    assert.equal(wiring.hosts.find((h) => h.kind === 'client')!.resolver, wiring.hosts[0]!.addresses.public);
  });
});

describe('lab probes', () => {
  test('a DNS probe needs an answer, not only exit status 0', () => {
    const probe = { kind: 'dns', server: '203.0.113.3', name: 'foobar.com' } as const;
    assert.deepEqual(probeCommand(probe), ['dig', '+norecurse', '+time=1', '+tries=1', '+short', '@203.0.113.3', 'foobar.com', 'SOA']);
    assert.equal(probePassed(probe, 0, ''), false);
    assert.equal(probePassed(probe, 0, 'ns1.foobar.com. hostmaster.foobar.com. 1 3600 600 604800 300\n'), true);
    assert.equal(probePassed({ kind: 'tcp', address: '127.0.0.1', port: 3306 }, 1, ''), false);
  });
});

describe('lab preflight', () => {
  test("a network that overlaps one of this machine's routes is refused, naming both", async () => {
    const { stack } = await loadDesign('simple');
    const routes = JSON.stringify([{ dst: 'default', dev: 'eth0' }, { dst: '203.0.113.0/24', dev: 'eth1' }]);
    await withHome(async (home) => {
      const target = new RecordingTarget({ answer: () => ({ stdout: routes }) });
      await assert.rejects(checkAddressSpace(stack, 'simple', home, target), (e: Error) => {
        assert.ok(e instanceof LabError);
        assert.match(e.message, /network public \(203\.0\.113\.0\/27\) overlaps this machine's route to 203\.0\.113\.0\/24 on eth1/);
        return true;
      });
    });
  });

  test('a network that overlaps another stack is refused; the default route is no overlap', async () => {
    const { stack } = await loadDesign('simple');
    await withHome(async (home) => {
      writeState(home, stateFromPlan(planLab(stack, { ...FIXED, home, name: 'other' }), 'simple', stack.networks));
      const target = new RecordingTarget({ answer: () => ({ stdout: JSON.stringify([{ dst: 'default', dev: 'eth0' }]) }) });
      await assert.rejects(checkAddressSpace(stack, 'mine', home, target), /overlaps network public \(203\.0\.113\.0\/27\) of running stack 'other'/);
      await checkAddressSpace(stack, 'other', home, target);
    });
  });

  test('--stack may be left out with one stack, and must be given with several', async () => {
    const { stack } = await loadDesign('simple');
    await withHome(async (home) => {
      assert.throws(() => pickStack(home, undefined), (e: LabError) => e.code === 'no-stack' && /no stack is up/.test(e.message) && e.fix === 'npx webstack up <design>');
      writeState(home, stateFromPlan(planLab(stack, { ...FIXED, home, name: 'one' }), 'simple', stack.networks));
      assert.equal(pickStack(home, undefined), 'one');
      writeState(home, stateFromPlan(planLab(stack, { ...FIXED, home, name: 'two' }), 'simple', stack.networks));
      assert.throws(() => pickStack(home, undefined), /2 stacks are up \(one, two\); say which with --stack <name>/);
      assert.throws(() => pickStack(home, 'three'), /there is no stack named 'three'; stacks: one, two/);
    });
  });
});

describe('lab down, through the recording target', () => {
  test('removes the recorded namespaces and the links that carry its alias, and nothing else', async () => {
    const { stack } = await loadDesign('simple');
    await withHome(async (home) => {
      const plan = planLab(stack, { ...FIXED, home, name: 'rec' });
      writeState(home, stateFromPlan(plan, 'simple', stack.networks));
      const bridge = plan.topology.bridges[0]!.name;
      const target = new RecordingTarget({
        answer: (_where, argv) => {
          if (argv.join(' ') === 'ip -j netns list') return { stdout: JSON.stringify([{ name: 'rec-server-01' }, { name: 'rec-client' }, { name: 'recx-server-01' }]) };
          if (argv.join(' ') === 'ip -j link show') return { stdout: JSON.stringify([{ ifname: 'eth0' }, { ifname: bridge, ifalias: 'webstack:rec' }, { ifname: 'wsb-other', ifalias: 'webstack:recx' }]) };
          return undefined;
        },
      });
      await down('rec', { home, target, say: () => undefined, volumes: false });
      assert.deepEqual(target.steps, [
        'ask: ip -j netns list',
        'machine: ip netns del rec-server-01',
        'machine: ip netns del rec-client',
        'ask: ip -j link show',
        `machine: ip link del ${bridge}`,
        'remove /etc/netns/rec-server-01',
        'remove /etc/netns/rec-dns',
        'remove /etc/netns/rec-client',
        `remove ${join(home, 'rec', 'state.json')}`,
      ]);
    });
  });

  test('an unknown stack is a clear error', async () => {
    await withHome(async (home) => {
      await assert.rejects(down('nope', { home, target: new RecordingTarget(), say: () => undefined, volumes: false }), /there is no stack named 'nope'; no stack is up/);
    });
  });
});

describe('replication status, load requests and secrets', () => {
  test("a replica's SHOW SLAVE STATUS becomes its primary, threads, lag and last error", () => {
    const running = parseSlaveStatus(`*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 10.71.32.11
              Slave_IO_Running: Yes
             Slave_SQL_Running: Yes
                 Last_IO_Error: 
                Last_SQL_Error: 
         Seconds_Behind_Master: 0
`);
    assert.deepEqual(running, { primary: '10.71.32.11', io: 'Yes', sql: 'Yes', lagSeconds: 0, error: null });
    const cut = parseSlaveStatus(`   Master_Host: 10.71.32.11\n   Slave_IO_Running: Connecting\n   Slave_SQL_Running: Yes\n   Last_IO_Error: error reconnecting to master\n   Seconds_Behind_Master: NULL\n`);
    assert.deepEqual(cut, { primary: '10.71.32.11', io: 'Connecting', sql: 'Yes', lagSeconds: null, error: 'error reconnecting to master' });
    assert.equal(parseSlaveStatus(''), null, 'not a replica at all');
  });

  test("HAProxy's CSV statistics become each server's state, last check and requests in flight, without frontends and backends", () => {
    const csv = `# pxname,svname,qcur,scur,status,weight,check_status,check_code
www,FRONTEND,,9,OPEN,,,
servers,server-01,0,3,UP,1,L7OK,200
servers,server-02,0,0,DOWN,1,* L7TOUT,
servers,BACKEND,0,3,UP,1,,
stats,FRONTEND,,1,OPEN,,,
`;
    assert.deepEqual(parseHaproxyStats(csv), [
      { backend: 'servers', server: 'server-01', status: 'UP', check: 'L7OK', sessions: 3 },
      { backend: 'servers', server: 'server-02', status: 'DOWN', check: 'L7TOUT', sessions: 0 },
    ]);
    assert.deepEqual(parseHaproxyStats(''), []);
  });

  test('load is bounded in count, rate and time, and aimed only at the stack', () => {
    const ok = { urls: ['http://www.foobar.com/', 'http://10.71.32.11/api/posts', 'http://127.0.0.1/'], requests: 100, rate: 50, connections: 5, timeoutS: 5 };
    const cidrs = ['203.0.113.32/27', '10.71.32.0/24'];
    assert.doesNotThrow(() => checkLoadRequest(ok, cidrs));
    assert.throws(() => checkLoadRequest({ ...ok, urls: ['http://8.8.8.8/'] }, cidrs), /8\.8\.8\.8 is not an address of this stack/);
    assert.throws(() => checkLoadRequest({ ...ok, urls: ['http://10.71.33.1/'] }, cidrs), /not an address of this stack/);
    assert.throws(() => checkLoadRequest({ ...ok, urls: ['ftp://www.foobar.com/'] }, cidrs), /only http:\/\/ and https:\/\/ URLs/);
    assert.doesNotThrow(() => checkLoadRequest({ ...ok, urls: ['https://www.foobar.com/'] }, cidrs));
    assert.throws(() => checkLoadRequest({ ...ok, urls: ['https://8.8.8.8/'] }, cidrs), /not an address of this stack/);
    assert.throws(() => checkLoadRequest({ ...ok, urls: ['www.foobar.com'] }, cidrs), /is not a URL/);
    assert.throws(() => checkLoadRequest({ ...ok, requests: 1_000_000 }, cidrs), /requests must be a whole number from 1 to 100000/);
    assert.throws(() => checkLoadRequest({ ...ok, rate: 0 }, cidrs), /rate must be a whole number/);
    assert.throws(() => checkLoadRequest({ ...ok, urls: [] }, cidrs), /say which URL/);
  });

  test('a load result reads as counts, failures and percentiles', () => {
    const text = formatLoad({ urls: ['http://www.foobar.com/'], requests: 10, statuses: { '200': 9, '503': 1 }, failed: 1, errors: 0, timeouts: 0, latencyMs: { p50: 2, p90: 5, p99: 9, max: 12, mean: 3 }, durationS: 1, rps: 10 });
    assert.match(text, /^10 requests to http:\/\/www\.foobar\.com\/ in 1\.0 s \(10 answers\/s\)$/m);
    assert.match(text, /answers: {2}200 ×9, 503 ×1/);
    assert.match(text, /failed: {3}1$/m);
    assert.match(text, /p50 2 ms, p90 5 ms, p99 9 ms, max 12 ms/);
  });

  test("a stack's secrets are made once, and a secret added later joins the ones already there", () => {
    const dir = mkdtempSync(join(tmpdir(), 'webstack-secrets-'));
    try {
      const file = join(dir, 'secrets.json');
      writeFileSync(file, JSON.stringify({ dbPassword: 'old-db', appSecret: 'old-app' }));
      const upgraded = readOrCreateSecrets(file);
      assert.equal(upgraded.dbPassword, 'old-db');
      assert.equal(upgraded.appSecret, 'old-app');
      assert.match(upgraded.replicationPassword, /^[\w-]{24}$/);
      assert.deepEqual(readOrCreateSecrets(file), upgraded, 'the new secret was written down');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the load generator: an open model, one operation per request, latency from when each was due', () => {
  /** A loopback server for one test, closed (and its connections with it) afterwards. */
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: (path?: string) => string; close: () => void }> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: (path = '/') => `http://127.0.0.1:${port}${path}`, close: () => (server.closeAllConnections(), server.close()) };
  }

  test('with writes, each request is a POST of a new post with an idempotency key of its own', async () => {
    const seen: { method: string; key: string; type: string; body: { author: string; body: string } }[] = [];
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, key: String(req.headers['idempotency-key']), type: String(req.headers['content-type']), body: JSON.parse(body) });
        res.statusCode = 201;
        res.end('{}');
      });
    });
    try {
      const result = await generateLoad({ urls: [server.url('/api/posts')], requests: 12, rate: 200, connections: 3, timeoutS: 5, writes: true });
      assert.deepEqual(result.statuses, { '201': 12 });
      assert.equal(result.failed, 0);
      assert.deepEqual([...new Set(seen.map((s) => `${s.method} ${s.type}`))], ['POST application/json']);
      assert.equal(new Set(seen.map((s) => s.key)).size, 12, 'every write has its own key');
      assert.equal(new Set(seen.map((s) => s.body.body)).size, 12, 'and its own text');
      assert.ok(seen.every((s) => s.body.author === 'load'));
    } finally {
      server.close();
    }
  });

  test('counts answers by status, counts 400 and above and unanswered requests as failed, and measures its own rate', async () => {
    const server = await serve((req, res) => {
      res.statusCode = req.url === '/down' ? 503 : 200;
      res.end('ok');
    });
    try {
      const result = await generateLoad({ urls: [server.url('/'), server.url('/down')], requests: 40, rate: 400, connections: 1, timeoutS: 5 });
      assert.deepEqual(result.statuses, { '200': 20, '503': 20 });
      assert.equal(result.requests, 40);
      assert.equal(result.failed, 20);
      assert.equal(result.errors, 0);
      assert.ok(result.durationS > 0.05 && result.durationS < 1, `measured ${result.durationS} s`);
      assert.ok(result.rps > 0 && result.latencyMs.p50 <= result.latencyMs.p99 && result.latencyMs.p99 <= result.latencyMs.max);
    } finally {
      server.close();
    }
  });

  test('paces requests by schedule: 20 at 100 per second take about 0.2 s, not one burst', async () => {
    const arrivals: number[] = [];
    const server = await serve((_req, res) => {
      arrivals.push(performance.now());
      res.end('ok');
    });
    try {
      const result = await generateLoad({ urls: [server.url()], requests: 20, rate: 100, connections: 5, timeoutS: 5 });
      assert.equal(result.requests, 20);
      const spread = arrivals.at(-1)! - arrivals[0]!;
      assert.ok(spread > 150 && spread < 400, `the 20 arrived over ${spread.toFixed(0)} ms`);
    } finally {
      server.close();
    }
  });

  test('closed, each connection sends its next request when the last is answered: never more in flight than connections, as fast as answers come', async () => {
    let inFlight = 0;
    let most = 0;
    const server = await serve((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 20);
    });
    try {
      // rate 1 would take 20 s open; closed, 20 requests on 4 connections are 5 rounds of 20 ms.
      const result = await generateLoad({ urls: [server.url()], requests: 20, rate: 1, connections: 4, timeoutS: 5, closed: true, timeline: true });
      assert.deepEqual(result.statuses, { '200': 20 });
      assert.equal(most, 4);
      assert.ok(result.durationS >= 0.09 && result.durationS < 1, `took ${result.durationS} s`);
      assert.ok(result.latencyMs.p50 >= 19 && result.latencyMs.p50 < 200, `latency from each request's own start: p50 ${result.latencyMs.p50} ms`);
      assert.equal(result.timeline!.length, 20);
    } finally {
      server.close();
    }
  });

  test('a few slow answers move only the top percentiles, and one request reports its own latency as its max', async () => {
    let n = 0;
    const server = await serve((_req, res) => {
      const slow = ++n % 20 === 0;
      setTimeout(() => res.end('ok'), slow ? 300 : 0);
    });
    try {
      const result = await generateLoad({ urls: [server.url()], requests: 100, rate: 200, connections: 20, timeoutS: 5 });
      assert.equal(result.failed, 0);
      assert.ok(result.latencyMs.p50 < 50, `p50 ${result.latencyMs.p50} ms`);
      assert.ok(result.latencyMs.p99 >= 290, `p99 ${result.latencyMs.p99} ms`);
      const single = await generateLoad({ urls: [server.url()], requests: 1, rate: 10, connections: 1, timeoutS: 5 });
      assert.equal(single.latencyMs.max, single.latencyMs.p50, 'one sample is its own max');
    } finally {
      server.close();
    }
  });

  test('with the server refusing, each request is one failed operation, not a retried connection', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const url = server.url();
    server.close();
    const result = await generateLoad({ urls: [url], requests: 30, rate: 300, connections: 5, timeoutS: 2 });
    assert.equal(result.requests, 30);
    assert.equal(result.errors, 30);
    assert.equal(result.failed, 30);
    assert.deepEqual(result.statuses, {});
  });

  test('an answer that is not HTTP is a failure; so is one that comes after the timeout', async () => {
    const garbage = createNetServer((socket) => socket.end('this is not HTTP\r\n\r\n'));
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const silent = await serve(() => undefined);
    try {
      const { port } = garbage.address() as AddressInfo;
      const notHttp = await generateLoad({ urls: [`http://127.0.0.1:${port}/`], requests: 5, rate: 100, connections: 1, timeoutS: 2 });
      assert.deepEqual([notHttp.requests, notHttp.failed, notHttp.errors], [5, 5, 5]);
      const late = await generateLoad({ urls: [silent.url()], requests: 3, rate: 100, connections: 3, timeoutS: 0.3 });
      assert.deepEqual([late.requests, late.failed, late.timeouts], [3, 3, 3]);
      assert.ok(late.latencyMs.max >= 290 && late.latencyMs.max < 1000, `gave up after ${late.latencyMs.max} ms`);
    } finally {
      garbage.close();
      silent.close();
    }
  });

  test('percentiles are observed values (nearest rank)', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual([percentile(sorted, 50), percentile(sorted, 99), percentile([7], 99), percentile([], 50)], [50, 99, 7, 0]);
  });
});

describe("a fault's cost, from the timeline of a run", () => {
  const op = (dueAt: number, ok: boolean) => ({ dueAt, latencyMs: 5, ok });
  test('the window runs from the fault to the first success after the last failure, and counts the failures after the fault', () => {
    const timeline = [op(900, false), op(1000, true), op(1010, false), op(1100, true), op(1200, false), op(1300, false), op(1400, true), op(1500, true)];
    assert.deepEqual(failoverWindow(timeline, 1005), { failed: 3, windowMs: 395 });
    assert.deepEqual(failoverWindow([op(1000, true), op(1100, true)], 1000), { failed: 0, windowMs: 0 });
  });

  test('a run that ends still failing reports the window to its last request', () => {
    assert.deepEqual(failoverWindow([op(1000, true), op(1100, false), op(1200, false)], 1050), { failed: 2, windowMs: 150 });
  });
});
