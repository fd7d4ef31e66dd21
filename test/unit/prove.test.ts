import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { capabilityExpressions } from '../../src/analysis/capabilities.ts';
import { loadDesign } from '../../src/design/load.ts';
import type { Capability } from '../../src/design/vocabulary.ts';
import type { ProveReport } from '../../src/lab/prove.ts';
import { formatProve } from '../../src/prove/format.ts';
import { proveReportHtml } from '../../src/prove/report.ts';
import { partitionRuleset } from '../../src/plan/firewall.ts';
import { faultSchedule } from '../../src/prove/schedule.ts';
import { checkConsistency, failoverBudgetMs, measureFault, partitionedFrom, timelineOf, verdictRows, type FaultRun } from '../../src/prove/verdict.ts';
import { runWorkload, writeOutcome, type UserOperation } from '../../src/prove/workload.ts';
import { chromium, repoRoot } from '../helpers.ts';

// `prove` without a lab: the workload against a loopback server that misbehaves on purpose, and
// the verdict from operations made up to say exactly one thing each.

describe("prove's workload", () => {
  test("tells a write's outcome by its answer: stored, certainly not, or unknown", () => {
    assert.equal(writeOutcome(201, null), 'ok');
    assert.equal(writeOutcome(503, null), 'failed', 'refused by the app, or no server at the load balancer');
    assert.equal(writeOutcome(400, null), 'failed');
    assert.equal(writeOutcome(null, 'ECONNREFUSED'), 'failed', 'never reached the stack');
    assert.equal(writeOutcome(504, null), 'indeterminate', 'sent, and the app does not know');
    assert.equal(writeOutcome(502, null), 'indeterminate');
    assert.equal(writeOutcome(null, 'ETIMEDOUT'), 'indeterminate');
    assert.equal(writeOutcome(null, 'ECONNRESET'), 'indeterminate');
  });

  test('keeps its schedule, records every operation once, and catches a session that cannot read its own write', async () => {
    // A site that stores posts, except that it forgets every fifth one, refuses every seventh write, and never answers every eleventh.
    const posts = new Set<number>();
    let writes = 0;
    const server: Server = createServer((req, res) => {
      const cookie = req.headers.cookie ?? '';
      if (req.method === 'POST') {
        writes++;
        if (writes % 11 === 0) return; // never answered
        if (writes % 7 === 0) return void res.writeHead(503).end('{"outcome":"refused"}');
        if (writes % 5 !== 0) posts.add(writes);
        res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': `wrote=${writes}; Path=/`, 'x-served-by': 'loopback' }).end(JSON.stringify({ id: writes }));
        return;
      }
      const own = /^\/api\/posts\/(\d+)$/.exec(req.url ?? '');
      if (own) {
        assert.match(cookie, /wrote=\d+/, 'the session sends its cookie back');
        return void res.writeHead(posts.has(Number(own[1])) ? 200 : 404).end('{}');
      }
      res.writeHead(200, { 'x-read-from': 'loopback-db' }).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const ops = await runWorkload({ base: `http://127.0.0.1:${port}`, rate: 200, maxDurationMs: 1000, sessions: 4, timeoutMs: 300, run: 'unit' });
      const tookMs = Date.now() - started;
      assert.equal(ops.length, 200, 'one operation per 5 ms for a second, whatever their fate');
      assert.ok(tookMs >= 990 && tookMs < 1000 + 300 + 1500, `paced over the second, plus the last deadline (${tookMs} ms)`);
      const kinds = (kind: Capability) => ops.filter((o) => o.kind === kind);
      assert.deepEqual([kinds('static').length, kinds('read').length, kinds('write').length, kinds('resolve').length], [60, 80, 40, 20]);
      const writesSeen = kinds('write');
      assert.ok(writesSeen.some((w) => w.outcome === 'failed' && w.status === 503), 'a refused write is failed');
      assert.ok(writesSeen.some((w) => w.outcome === 'indeterminate' && w.status === null), 'an unanswered write is of unknown outcome');
      assert.ok(writesSeen.filter((w) => w.outcome === 'ok').every((w) => w.postId !== undefined && w.key?.startsWith('unit-')));
      assert.ok(ops.every((o) => o.end >= o.start && o.session >= 0 && o.session < 4));
      const rywChecks = kinds('read').filter((o) => o.sawOwnWrite !== undefined);
      assert.ok(rywChecks.some((o) => o.sawOwnWrite === true), 'sessions read their own writes back');
      assert.ok(rywChecks.some((o) => o.sawOwnWrite === false), 'and the forgotten ones are caught');
      assert.equal(kinds('static')[0]!.readFrom, 'loopback-db');
    } finally {
      server.close();
    }
  });

  test('stops as soon as its stop file exists', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'webstack-prove-'));
    const server = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const stopFile = join(dir, 'stop');
      setTimeout(() => writeFileSync(stopFile, ''), 300);
      const ops = await runWorkload({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, rate: 100, maxDurationMs: 60_000, stopFile, sessions: 2, timeoutMs: 500, run: 'stop' });
      assert.ok(ops.length >= 25 && ops.length <= 80, `stopped soon after 0.3 s (${ops.length} operations, of 6,000 it had time for)`);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Operations of one kind, one every 100 ms from `from` to `to` (ms, relative), failing inside `failing`. */
function ops(kind: Capability, from: number, to: number, failing: [number, number] | null, outcome: UserOperation['outcome'] = 'failed'): UserOperation[] {
  const made: UserOperation[] = [];
  for (let t = from; t < to; t += 100) {
    const failed = failing !== null && t >= failing[0] && t < failing[1];
    made.push({ kind, session: 0, start: t, end: t + 5, outcome: failed ? outcome : 'ok', status: failed ? 503 : 200 });
  }
  return made;
}

describe("prove's verdict", () => {
  const run = (operations: UserOperation[], host = 'server-02'): FaultRun => ({ host, how: 'kill', faultAt: 2000, healAt: 10_000, healedAt: 11_000, operations });

  test('a capability that fails only within the budget survived; one that fails later broke; one never tried is unobserved', () => {
    const measures = measureFault(run([...ops('static', 0, 13_000, [2000, 3500]), ...ops('write', 0, 13_000, [2100, 10_500]), ...ops('read', 0, 13_000, null)]), 3500);
    const by = (c: Capability) => measures.find((m) => m.capability === c)!;
    assert.equal(by('static').observed, 'survived');
    assert.deepEqual(by('static').errorWindowMs, { first: 0, last: 1400 });
    assert.equal(by('write').observed, 'broken');
    assert.equal(by('write').failed, 79);
    assert.equal(by('write').recoveryMs, 400, 'failing for 0.4 s after heal');
    assert.equal(by('read').observed, 'survived');
    assert.equal(by('read').failed, 0);
    assert.equal(by('resolve').observed, 'unobserved');
  });

  test('an operation answered only once the host was healed, and late, failed while it was down: a frozen host thawing does not look survived', () => {
    const thawed = ops('static', 0, 13_000, null).map((o) => (o.start >= 4000 && o.start < 10_000 ? { ...o, end: 10_050 } : o));
    const [, staticMeasure] = measureFault(run(thawed), 3500);
    assert.equal(staticMeasure!.observed, 'broken');
    assert.equal(staticMeasure!.failed, 51, 'those due from 4 s on and answered at the heal more than a second late');
    // An answer a few milliseconds after the heal, for an operation due just before it, is no stall.
    const [, prompt] = measureFault(run(ops('static', 0, 13_000, null).map((o) => (o.start === 9900 ? { ...o, end: 10_004 } : o))), 3500);
    assert.equal(prompt!.failed, 0);
  });

  test("agrees with check on distributed when the primary's loss breaks writes only, and names the row that disagrees", async () => {
    const design = (await loadDesign('distributed')).stack;
    const budget = failoverBudgetMs(design);
    assert.equal(budget, 3500, 'health checks every 500 ms, down after 2: 1.5 s, and 2 s for what was in flight');
    const primaryLost = run([...ops('static', 0, 13_000, null), ...ops('read', 0, 13_000, null), ...ops('write', 0, 13_000, [2000, 10_000]), ...ops('resolve', 0, 13_000, null)], 'server-01');
    const rows = verdictRows(design, capabilityExpressions(design), [{ run: primaryLost, measures: measureFault(primaryLost, budget) }]);
    assert.deepEqual(rows.map((r) => `${r.capability} ${r.predicted} ${r.observed.kill} ${r.agrees}`), ['resolve survives survived true', 'static survives survived true', 'read survives survived true', 'write breaks broken true']);

    // Planted: the replica's loss breaks reads, which check says it does not.
    const replicaLost = run([...ops('static', 0, 13_000, null), ...ops('read', 0, 13_000, [2000, 10_000]), ...ops('write', 0, 13_000, null)], 'server-02');
    const planted = verdictRows(design, capabilityExpressions(design), [{ run: replicaLost, measures: measureFault(replicaLost, budget) }]);
    assert.deepEqual(planted.filter((r) => !r.agrees).map((r) => `${r.host} ${r.capability}`), ['server-02 read']);
    const report: ProveReport = { stack: 'planted', run: 'p', seed: null, budgetMs: budget, faults: [], verdict: planted, consistency: checkConsistency([], new Map()), durationS: 1, ok: false };
    const text = formatProve(report);
    assert.match(text, /server-02 +survives: - +survives: ok +✗ survives: BROKEN +survives: ok/);
    assert.match(text, /planted: ✗ not proved \(1 s\): 1 disagreement with check \(server-02 read\)\./);
  });

  test('a host the design does not own (the managed DNS) is reported, not held against check', async () => {
    const design = (await loadDesign('distributed')).stack;
    const dnsLost = run(ops('resolve', 0, 13_000, [2000, 10_000]), 'dns');
    const rows = verdictRows(design, capabilityExpressions(design), [{ run: dnsLost, measures: measureFault(dnsLost, 3500) }]);
    assert.deepEqual(rows.map((r) => [r.capability, r.predicted, r.agrees]), [['resolve', 'outside', true], ['static', 'outside', true], ['read', 'outside', true], ['write', 'outside', true]]);
  });
});

describe("prove's partitions and its order", () => {
  const every = (kinds: Capability[], failing: Capability[]) => kinds.flatMap((k) => ops(k, 0, 13_000, failing.includes(k) ? [2000, 10_000] : null));
  const partitioned = (host: string, from: string[], held: string[], operations: UserOperation[]): FaultRun => ({ host, how: 'partition', partition: { from, held }, faultAt: 2000, healAt: 10_000, healedAt: 10_000, operations });

  test('cuts a host off from the hosts that send it requests, not from its peers: the primary from the apps and the load balancer, not from monitoring', async () => {
    const distributed = (await loadDesign('distributed')).stack;
    assert.deepEqual(partitionedFrom(distributed, 'lb-01'), ['client']);
    assert.deepEqual(partitionedFrom(distributed, 'server-01').sort(), ['lb-01', 'server-02']);
    assert.deepEqual(partitionedFrom(distributed, 'dns'), ['client'], "the lab's managed DNS, from the users");
    const ha = (await loadDesign('ha')).stack;
    assert.deepEqual(partitionedFrom(ha, 'db-01').sort(), ['app-01', 'app-02'], 'not from db-02 and db-03, its cluster');
    assert.deepEqual(partitionedFrom(ha, 'lb-02'), ['client'], 'not from lb-01, which it speaks VRRP with');
    assert.deepEqual(partitionedFrom(ha, 'mon-01'), [], 'no request of a user passes through monitoring');
  });

  test("predicts that a holder of a virtual IP cut off from its clients keeps it, and what comes through it breaks; check's word stands for the others", async () => {
    const ha = (await loadDesign('ha')).stack;
    const expressions = capabilityExpressions(ha);
    const entry = ha.virtualIps.find((v) => v.role === 'lb')!.address;
    const writeAddress = ha.virtualIps.find((v) => v.role === 'db')!.address;
    const lbRun = partitioned('lb-01', ['client'], [entry], every(['resolve', 'static', 'read', 'write'], ['static', 'read', 'write']));
    const backupRun = partitioned('lb-02', ['client'], [], every(['resolve', 'static', 'read', 'write'], []));
    const dbRun = partitioned('db-01', ['app-01', 'app-02'], [writeAddress], every(['static', 'read', 'write'], ['write']));
    const rows = verdictRows(ha, expressions, [lbRun, backupRun, dbRun].map((r) => ({ run: r, measures: measureFault(r, failoverBudgetMs(ha)) })));
    const line = (host: string) => rows.filter((r) => r.host === host).map((r) => `${r.capability} ${r.predicted}${r.partition ? `/${r.partition.predicted}` : ''} ${r.observed.partition} ${r.agrees}`);
    assert.deepEqual(line('lb-01'), ['resolve survives survived true', 'static survives/breaks broken true', 'read survives/breaks broken true', 'write survives/breaks broken true']);
    assert.deepEqual(line('lb-02'), ['resolve survives survived true', 'static survives survived true', 'read survives survived true', 'write survives survived true']);
    assert.deepEqual(line('db-01'), ['resolve survives unobserved true', 'static survives survived true', 'read survives survived true', 'write survives/breaks broken true']);
    assert.match(rows.find((r) => r.host === 'lb-01' && r.capability === 'static')!.partition!.why, new RegExp(`lb-01 kept ${entry.replace(/\./g, '\\.')}: its peers \\(lb-02\\) still saw it`));

    // The same writes surviving the cluster's holder's partition would be a disagreement, named.
    const survived = partitioned('db-01', ['app-01', 'app-02'], [writeAddress], every(['read', 'write'], []));
    const planted = verdictRows(ha, expressions, [{ run: survived, measures: measureFault(survived, failoverBudgetMs(ha)) }]);
    assert.deepEqual(planted.filter((r) => !r.agrees).map((r) => `${r.host} ${r.capability}`), ['db-01 write']);
    const text = formatProve({ stack: 'ha', run: 'p', seed: null, budgetMs: 4000, faults: [], verdict: planted, consistency: checkConsistency([], new Map()), durationS: 1, ok: false });
    assert.match(text, /✗ survives \(partition: breaks\): ok/);
    assert.match(text, /\(partition: db-01 kept .*so keepalived did not move it\)/);
  });

  test('a partition is dropped both ways in one table of its own, beside the firewall', () => {
    const rules = partitionRuleset('server-01', ['lb-01'], ['203.0.113.34', '10.71.32.2']);
    assert.match(rules, /^table inet webstack_partition \{$/m);
    assert.match(rules, /hook input priority -10; policy accept;\n\s+ip saddr \{ 203\.0\.113\.34, 10\.71\.32\.2 \} drop/);
    assert.match(rules, /hook output priority -10; policy accept;\n\s+ip daddr \{ 203\.0\.113\.34, 10\.71\.32\.2 \} drop/);
  });

  test('makes the faults host by host without a seed, and in the same shuffled order for the same seed', () => {
    const hosts = ['lb', 'a', 'b', 'mon'];
    const from = (host: string) => (host === 'mon' ? [] : ['x']);
    const plain = faultSchedule(hosts, ['kill', 'partition'], from, null);
    assert.deepEqual(plain.map((f) => `${f.host} ${f.how}`), ['lb kill', 'lb partition', 'a kill', 'a partition', 'b kill', 'b partition', 'mon kill'], 'no partition of a host no request reaches');
    const seeded = faultSchedule(hosts, ['kill', 'partition'], from, 7);
    assert.deepEqual(faultSchedule(hosts, ['kill', 'partition'], from, 7), seeded, 'the same seed, the same order');
    assert.deepEqual(seeded.map((f) => `${f.host} ${f.how}`).sort(), plain.map((f) => `${f.host} ${f.how}`).sort(), 'every fault, once');
    const orders = new Set([1, 2, 3, 4, 5].map((seed) => faultSchedule(hosts, ['kill', 'partition'], from, seed).map((f) => `${f.host} ${f.how}`).join()));
    assert.ok(orders.size >= 4, `seeds give different orders (${orders.size} of 5)`);
  });
});

describe("prove's count of the writes", () => {
  const write = (key: string, outcome: UserOperation['outcome']): UserOperation => ({ kind: 'write', session: 0, start: 0, end: 1, outcome, status: outcome === 'ok' ? 201 : 503, key });

  test('finds a lost acknowledged write, one stored twice, a refused one stored, and counts the unknown ones stored', () => {
    const operations = [write('a', 'ok'), write('b', 'ok'), write('c', 'failed'), write('d', 'indeterminate'), write('e', 'indeterminate')];
    const fine = checkConsistency(operations, new Map([['db-1', new Map([['a', 1], ['b', 1], ['d', 1]])], ['db-2', new Map([['a', 1], ['b', 1], ['d', 1]])]]));
    assert.equal(fine.ok, true);
    assert.deepEqual([fine.acknowledged, fine.refused, fine.indeterminate, fine.indeterminateStored], [2, 1, 2, 1]);
    const broken = checkConsistency(operations, new Map([['db-1', new Map([['a', 2], ['c', 1]])], ['db-2', new Map([['a', 1], ['b', 1]])]]));
    assert.equal(broken.ok, false);
    assert.deepEqual(broken.servers[0], { host: 'db-1', missing: ['b'], duplicated: ['a'], refusedButStored: ['c'] });
    assert.deepEqual(broken.servers[1], { host: 'db-2', missing: [], duplicated: [], refusedButStored: [] });
  });

  test('a session that did not find its own acknowledged write is a violation', () => {
    const read: UserOperation = { kind: 'read', session: 3, start: 50, end: 60, outcome: 'ok', status: 404, postId: 17, sawOwnWrite: false };
    const result = checkConsistency([read], new Map());
    assert.equal(result.ok, false);
    assert.deepEqual(result.readYourWritesViolations, [{ session: 3, postId: 17, at: 50 }]);
  });
});

describe("prove's HTML report", () => {
  /** A report of two faults on distributed: the primary's loss breaks writes, the replica's breaks nothing. */
  async function sample() {
    const design = (await loadDesign('distributed')).stack;
    const runs = [
      { host: 'server-01', how: 'kill' as const, operations: [...ops('static', 0, 13_000, null), ...ops('read', 0, 13_000, null), ...ops('write', 0, 13_000, [2000, 10_000]), ...ops('resolve', 0, 13_000, null)] },
      { host: 'server-02', how: 'kill' as const, operations: [...ops('static', 0, 13_000, null), ...ops('read', 0, 13_000, [2000, 2600]), ...ops('write', 0, 13_000, null, 'indeterminate'), ...ops('resolve', 0, 13_000, null)] },
    ].map((r) => ({ ...r, faultAt: 2000, healAt: 10_000, healedAt: 10_800 }));
    const measured = runs.map((run) => ({ run, measures: measureFault(run, 3500) }));
    const report: ProveReport = {
      stack: 'distributed',
      run: 'prove-sample',
      seed: null,
      budgetMs: 3500,
      faults: measured.map(({ run, measures }) => ({ host: run.host, how: run.how, faultAt: new Date(run.faultAt).toISOString(), holdMs: 8000, healMs: 800, operations: run.operations.length, measures, timeline: timelineOf(run) })),
      verdict: verdictRows(design, capabilityExpressions(design), measured),
      consistency: checkConsistency([], new Map([['server-01', new Map()], ['server-02', new Map()]])),
      durationS: 40,
      ok: true,
    };
    return { report, html: await proveReportHtml(report, design) };
  }

  test('is one page with the diagram, the verdict table and a chart per fault, drawn by Vega with the fault and the heal marked', async () => {
    const { html } = await sample();
    assert.doesNotMatch(html, /<script|src="http|href="http/, 'self-contained: no script, nothing fetched');
    assert.match(html, /<table id="verdict">/);
    assert.match(html, /<th>server-01<\/th><td class="agrees"><b>survives<\/b>/);
    assert.equal(html.match(/<section class="fault">/g)?.length, 2);
    const charts = [...html.matchAll(/<div class="chart">(<svg[\s\S]*?<\/svg>)<\/div>/g)].map((m) => m[1]!);
    assert.equal(charts.length, 2, 'one chart per fault');
    for (const chart of charts) {
      assert.match(chart, /class="marks"/, "Vega's own SVG");
      for (const label of ['fault', 'heal', 'healed']) assert.match(chart, new RegExp(`>${label}</text>`), label);
      assert.match(chart, /seconds from the fault/);
    }
  });

  test('opened in headless Chromium, shows the verdict table and every chart', { skip: chromium() ? false : 'needs Debian\'s chromium' }, async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { chromium: browserType } = await import('playwright-core');
    const { report, html } = await sample();
    const dir = mkdtempSync(join(tmpdir(), 'webstack-report-'));
    const browser = await browserType.launch({ executablePath: chromium()!, args: ['--no-sandbox'] });
    try {
      const file = join(dir, 'report.html');
      writeFileSync(file, html);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${file}`);
      assert.ok(await page.locator('#verdict').isVisible(), 'the verdict table is shown');
      assert.equal(await page.locator('#verdict tr').count(), 1 + new Set(report.verdict.map((v) => v.host)).size);
      assert.equal(await page.locator('.fault .chart svg').count(), report.faults.length);
      for (const chart of await page.locator('.fault .chart svg').all()) {
        const box = await chart.boundingBox();
        assert.ok(box && box.width > 300 && box.height > 100, `a chart is drawn at its size (${JSON.stringify(box)})`);
      }
      // What a person sees, kept for a look (test/output is ignored by git).
      const shot = join(repoRoot, 'test', 'output', 'prove-report.png');
      (await import('node:fs')).mkdirSync(join(repoRoot, 'test', 'output'), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok((await import('node:fs')).statSync(shot).size > 10_000);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Debian's chromium, when it is installed. */
