import { performance } from 'node:perf_hooks';
import { check } from '../src/analysis/check.ts';
import { BLUEPRINTS } from '../src/blueprints/index.ts';
import { loadDesign } from '../src/design/load.ts';
import { renderMermaid } from '../src/diagram/mermaid.ts';
import { diagramModel } from '../src/diagram/model.ts';
import { renderSvg } from '../src/diagram/svg.ts';
import type { LoadResult } from '../src/load/generator.ts';

// Medians of repeated runs, all in one process, so ratios between rows compare like with like.

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function median(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn(); // warm-up: module loading and JIT do not belong in the figure
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

console.log(`webstack bench: median of ${RUNS} runs, milliseconds`);
console.log('blueprint      load+resolve    check    mermaid       svg   svg/check');
for (const name of BLUEPRINTS) {
  const { stack } = await loadDesign(name);
  const load = await median(() => loadDesign(name));
  const analyse = await median(() => check(stack));
  const mermaid = await median(() => renderMermaid(diagramModel(stack)));
  const svg = await median(() => renderSvg(diagramModel(stack)));
  const f = (n: number) => n.toFixed(2).padStart(9);
  console.log(`${name.padEnd(12)}${f(load)}    ${f(analyse)}${f(mermaid)}${f(svg)}  ${(svg / analyse).toFixed(1).padStart(9)}x`);
}

// check at scale: generated designs (two lbs, web and app tiers, a primary and a replica).
// Goals (issue 10): 100 hosts under 0.5 s, 1,000 hosts under 5 s, resolve included.
{
  const { resolveSource } = await import('../src/design/load.ts');
  const { generatedDesign } = await import('../test/generated.ts');
  console.log('\ncheck of a generated design, median of 3 runs, milliseconds');
  console.log('hosts      resolve      check      total');
  for (const hosts of [10, 100, 1000]) {
    const source = { ref: 'generated', file: 'generated', data: generatedDesign(hosts), locate: () => undefined };
    const times = { resolve: [] as number[], check: [] as number[] };
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      const { stack } = resolveSource(source);
      times.resolve.push(performance.now() - t);
      t = performance.now();
      check(stack);
      times.check.push(performance.now() - t);
    }
    const m = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    console.log(`${String(hosts).padStart(5)}${m(times.resolve).toFixed(0).padStart(12)}${m(times.check).toFixed(0).padStart(11)}${(m(times.resolve) + m(times.check)).toFixed(0).padStart(11)}`);
  }
}

// The lab: `up` and `down` of simple for real (root only), through the same modules the CLI uses.
const LAB_RUNS = Number(process.env.BENCH_LAB_RUNS ?? 5);
if (process.platform === 'linux' && process.getuid?.() === 0 && process.env.BENCH_LAB !== '0') {
  const { fileURLToPath } = await import('node:url');
  const { up } = await import('../src/lab/up.ts');
  const { down } = await import('../src/lab/down.ts');
  const { namespaceTarget } = await import('../src/lab/target.ts');
  const { webstackHome } = await import('../src/plan/paths.ts');
  const { readState } = await import('../src/lab/state.ts');
  const { stack: design } = await loadDesign('simple');
  const name = 'bench-simple';
  const home = webstackHome();
  const lab = { home, target: namespaceTarget, say: () => undefined };
  const install = { repoRoot: fileURLToPath(new URL('..', import.meta.url)), node: process.execPath, compiled: false };
  const timed = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  if (readState(home, name)) await down(name, { ...lab, volumes: true });
  const fresh: number[] = [];
  const kept: number[] = [];
  const downs: number[] = [];
  try {
    for (let i = 0; i < LAB_RUNS; i++) {
      fresh.push(await timed(() => up(design, { ...lab, name, install, designRef: 'simple' })));
      downs.push(await timed(() => down(name, { ...lab, volumes: false })));
      kept.push(await timed(() => up(design, { ...lab, name, install, designRef: 'simple' })));
      downs.push(await timed(() => down(name, { ...lab, volumes: true })));
    }
  } finally {
    if (readState(home, name)) await down(name, { ...lab, volumes: true });
  }
  console.log(`\nlab: simple, median of ${LAB_RUNS} runs (${LAB_RUNS * 2} for down), seconds`);
  console.log(`  up, first start (database initialised)  ${(mid(fresh) / 1000).toFixed(2)}`);
  console.log(`  up, data kept from an earlier run       ${(mid(kept) / 1000).toFixed(2)}`);
  console.log(`  down                                    ${(mid(downs) / 1000).toFixed(2)}`);
  console.log(`  first start / data kept                 ${(mid(fresh) / mid(kept)).toFixed(2)}x`);

  // Start-up: the CLI (`status`, a short command) and the app server's memory, compiled (dist/)
  // against the TypeScript sources through tsx, in one run. `npm run build` must have run.
  const { spawnSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { readStatus } = await import('../src/lab/state.ts');
  const { stackPaths } = await import('../src/plan/paths.ts');
  const { loadFrom: loadFor } = await import('../src/lab/load.ts');
  const bin = fileURLToPath(new URL('../bin/webstack.js', import.meta.url));
  const cliTimes = { compiled: [] as number[], source: [] as number[] };
  const rss = { compiled: [] as number[], source: [] as number[] };
  const idle = { compiled: [] as number[], source: [] as number[] };
  const appRss = () => {
    const app = readStatus(stackPaths(home, name).daemons)!.daemons.find((d) => d.daemon === 'app')!;
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${app.pid}/status`, 'utf8'))![1]) / 1024;
  };
  try {
    for (const compiled of [true, false]) {
      const kind = compiled ? 'compiled' : 'source';
      await up(design, { ...lab, name, install: { ...install, compiled }, designRef: 'simple' });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      idle[kind].push(appRss());
      await loadFor(home, name, { from: 'client', urls: ['http://www.foobar.com/'], requests: 300, rate: 20_000, connections: 10, timeoutS: 10 }, namespaceTarget);
      rss[kind].push(appRss());
      for (let i = 0; i < LAB_RUNS; i++) {
        const env = compiled ? { ...process.env, WEBSTACK_FROM_SOURCE: '' } : { ...process.env, WEBSTACK_FROM_SOURCE: '1' };
        cliTimes[kind].push(await timed(async () => void spawnSync(process.execPath, [bin, 'status', '--stack', name], { env })));
      }
      await down(name, { ...lab, volumes: true });
    }
  } finally {
    if (readState(home, name)) await down(name, { ...lab, volumes: true });
  }
  console.log(`\nstart-up, compiled (dist/) against the sources through tsx; medians of ${LAB_RUNS} runs`);
  console.log(`  webstack status (node bin/webstack.js), s   compiled ${(mid(cliTimes.compiled) / 1000).toFixed(2)}   source ${(mid(cliTimes.source) / 1000).toFixed(2)}   ${(mid(cliTimes.source) / mid(cliTimes.compiled)).toFixed(1)}x`);
  console.log(`  app server RSS idle (2 s after up), MB      compiled ${idle.compiled[0]!.toFixed(0)}   source ${idle.source[0]!.toFixed(0)}   ${(idle.compiled[0]! / idle.source[0]!).toFixed(2)}x`);
  console.log(`  app server RSS after 300 requests, MB       compiled ${rss.compiled[0]!.toFixed(0)}   source ${rss.source[0]!.toFixed(0)}   ${(rss.compiled[0]! / rss.source[0]!).toFixed(2)}x`);

  // Through the load balancer against straight from one server: the same page (GET /, rendered by
  // the app from the database), as fast as it goes with 10 connections, interleaved round by round.
  const { loadFrom } = await import('../src/lab/load.ts');
  const distributed = (await loadDesign('distributed')).stack;
  const dist = 'bench-dist';
  const rounds = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);
  const requests = Number(process.env.BENCH_LOAD_REQUESTS ?? 2000);
  const shape = { requests, rate: 20_000, connections: 10, timeoutS: 10 };
  if (readState(home, dist)) await down(dist, { ...lab, volumes: true });
  const viaLb: LoadResult[] = [];
  const direct: LoadResult[] = [];
  const applies: number[] = [];
  const recreates: number[] = [];
  try {
    await up(distributed, { ...lab, name: dist, install, designRef: 'distributed' });
    // Warm-up: connections, JIT and the database's caches.
    await loadFrom(home, dist, { ...shape, requests: 300, from: 'client', urls: ['http://www.foobar.com/'] }, namespaceTarget);
    for (let i = 0; i < rounds; i++) {
      viaLb.push(await loadFrom(home, dist, { ...shape, from: 'client', urls: ['http://www.foobar.com/'] }, namespaceTarget));
      // lb-01 is the one host besides the servers on the private network.
      direct.push(await loadFrom(home, dist, { ...shape, from: 'lb-01', urls: ['http://10.71.32.11/'] }, namespaceTarget));
    }
    // A one-line change (the balancing algorithm) applied to the running stack, against down + up.
    const changed = { ...distributed, policies: { ...distributed.policies, lb: { algorithm: 'leastconn' as const } } };
    for (let i = 0; i < LAB_RUNS; i++) {
      applies.push(await timed(() => up(i % 2 === 0 ? changed : distributed, { ...lab, name: dist, install, designRef: 'distributed' })));
    }
    for (let i = 0; i < 3; i++) {
      recreates.push(await timed(async () => {
        await down(dist, { ...lab, volumes: false });
        await up(distributed, { ...lab, name: dist, install, designRef: 'distributed' });
      }));
    }
  } finally {
    if (readState(home, dist)) await down(dist, { ...lab, volumes: true });
  }
  const row = (label: string, results: LoadResult[]) => {
    const pick = (f: (r: LoadResult) => number) => mid(results.map(f));
    const failed = results.reduce((sum, r) => sum + r.failed, 0);
    return `  ${label.padEnd(34)}${pick((r) => r.rps).toFixed(0).padStart(8)}${[(r: LoadResult) => r.latencyMs.p50, (r: LoadResult) => r.latencyMs.p90, (r: LoadResult) => r.latencyMs.p99].map((f) => pick(f).toFixed(1).padStart(8)).join('')}${String(failed).padStart(8)}`;
  };
  console.log(`\nlab: distributed, GET / with ${shape.connections} connections, ${requests} requests a run, median of ${rounds} runs`);
  console.log(`  ${''.padEnd(34)}   req/s  p50 ms  p90 ms  p99 ms  failed`);
  console.log(row('client -> HAProxy -> 2 servers', viaLb));
  console.log(row('lb-01 -> server-01 nginx (direct)', direct));
  const ratio = mid(viaLb.map((r) => r.rps)) / mid(direct.map((r) => r.rps));
  const p50 = mid(viaLb.map((r) => r.latencyMs.p50)) / mid(direct.map((r) => r.latencyMs.p50));
  console.log(`  through the LB / direct: ${ratio.toFixed(2)}x the requests per second, ${p50.toFixed(2)}x the median latency`);
  console.log(`\nlab: distributed, a one-line change (the balancing algorithm), median of ${applies.length} (apply) and ${recreates.length} (down + up) runs, seconds`);
  console.log(`  applied to the running stack (HAProxy reloads)  ${(mid(applies) / 1000).toFixed(2)}`);
  console.log(`  down, then up                                   ${(mid(recreates) / 1000).toFixed(2)}`);
  console.log(`  down + up / apply                               ${(mid(recreates) / mid(applies)).toFixed(1)}x`);

  // secured against distributed: what firewalls and an ACME order per load balancer add to `up`,
  // and what TLS costs a request, on kept-alive connections and on a new connection each time.
  const secured = (await loadDesign('secured')).stack;
  const sec = 'bench-sec';
  const upDistributed: number[] = [];
  const upSecured: number[] = [];
  const served: Record<'plainKept' | 'tlsKept' | 'plainNew' | 'tlsNew', LoadResult[]> = { plainKept: [], tlsKept: [], plainNew: [], tlsNew: [] };
  try {
    for (let i = 0; i < LAB_RUNS; i++) {
      for (const name of [dist, sec]) if (readState(home, name)) await down(name, { ...lab, volumes: false });
      upDistributed.push(await timed(() => up(distributed, { ...lab, name: dist, install, designRef: 'distributed' })));
      upSecured.push(await timed(() => up(secured, { ...lab, name: sec, install, designRef: 'secured' })));
    }
    const plain = { ...shape, from: 'client', urls: ['http://www.foobar.com/'] };
    const tls = { ...shape, from: 'client', urls: ['https://www.foobar.com/'] };
    await loadFrom(home, dist, { ...plain, requests: 300 }, namespaceTarget);
    await loadFrom(home, sec, { ...tls, requests: 300 }, namespaceTarget);
    for (let i = 0; i < rounds; i++) {
      served.plainKept.push(await loadFrom(home, dist, plain, namespaceTarget));
      served.tlsKept.push(await loadFrom(home, sec, tls, namespaceTarget));
      served.plainNew.push(await loadFrom(home, dist, { ...plain, newConnections: true }, namespaceTarget));
      served.tlsNew.push(await loadFrom(home, sec, { ...tls, newConnections: true }, namespaceTarget));
    }
  } finally {
    for (const name of [dist, sec]) if (readState(home, name)) await down(name, { ...lab, volumes: true });
  }
  console.log(`\nlab: secured (firewalls, TLS by ACME) against distributed, median of ${LAB_RUNS} runs, seconds`);
  console.log(`  up, distributed                                 ${(mid(upDistributed) / 1000).toFixed(2)}`);
  console.log(`  up, secured                                     ${(mid(upSecured) / 1000).toFixed(2)}`);
  console.log(`  secured's extra time                            ${((mid(upSecured) - mid(upDistributed)) / 1000).toFixed(2)}  (${(mid(upSecured) / mid(upDistributed)).toFixed(2)}x)`);
  console.log(`\nlab: GET / from the client through the LB, HTTPS (secured) against HTTP (distributed), ${shape.connections} connections, ${requests} requests a run, median of ${rounds} runs`);
  console.log(`  ${''.padEnd(34)}   req/s  p50 ms  p90 ms  p99 ms  failed`);
  console.log(row('HTTP, connections kept alive', served.plainKept));
  console.log(row('HTTPS, connections kept alive', served.tlsKept));
  console.log(row('HTTP, a new connection each', served.plainNew));
  console.log(row('HTTPS, a new handshake each', served.tlsNew));
  const rps = (results: LoadResult[]) => mid(results.map((r) => r.rps));
  console.log(`  HTTPS / HTTP: ${(rps(served.tlsKept) / rps(served.plainKept)).toFixed(2)}x kept alive, ${(rps(served.tlsNew) / rps(served.plainNew)).toFixed(2)}x with a new connection each`);
  await (await import('./monitoring.ts')).benchMonitoring();
  await (await import('./database.ts')).benchDatabase();
  await (await import('./prove.ts')).benchProve();
  await (await import('./dashboard.ts')).benchDashboard();
} else {
  console.log('\nlab: skipped (needs root on Linux; BENCH_LAB=0 also skips it)');
}
