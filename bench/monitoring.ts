import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadDesign } from '../src/design/load.ts';
import { alerts } from '../src/lab/alerts.ts';
import { down } from '../src/lab/down.ts';
import { fail, heal } from '../src/lab/faults.ts';
import { readState, readStatus } from '../src/lab/state.ts';
import { namespaceTarget } from '../src/lab/target.ts';
import { up } from '../src/lab/up.ts';
import { stackPaths, webstackHome } from '../src/plan/paths.ts';

// How fast a failure reaches a person, and what watching costs: the time from `fail` to the alert
// at the lab's receiver (a killed web server on secured, and the site down, its load balancer
// killed), median of BENCH_ALERT_RUNS; the time `up` of ha takes; and the memory the monitoring
// daemons take on ha, against the whole stack's.
// Run alone with `node --import tsx bench/monitoring.ts`, or as part of `npm run bench`.

const RUNS = Number(process.env.BENCH_ALERT_RUNS ?? 5);
const MONITORING_DAEMONS = new Set(['prometheus', 'alertmanager', 'alert-receiver', 'node-exporter', 'nginx-exporter', 'mysqld-exporter', 'redis-exporter', 'blackbox-exporter', 'uptime-relay', 'rsyslog']);

const home = webstackHome();
const lab = { home, target: namespaceTarget, say: () => undefined };
const install = { repoRoot: fileURLToPath(new URL('..', import.meta.url)), node: process.execPath, compiled: false };
const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds from `fail` until the receiver has the alert `wanted` names, new since the fault. */
async function timeToAlert(stack: string, host: string, wanted: (name: string, labels: Record<string, string>) => boolean): Promise<number> {
  const before = new Set(alerts(home, stack).map((a) => `${a.name}@${a.startsAt}@${a.subject}`));
  const started = Date.now();
  await fail(stack, host, 'kill', lab);
  try {
    for (;;) {
      const arrived = alerts(home, stack).find((a) => a.status === 'firing' && !before.has(`${a.name}@${a.startsAt}@${a.subject}`) && wanted(a.name, a.labels));
      if (arrived) return Date.parse(arrived.notifiedAt) - started;
      if (Date.now() - started > 120_000) throw new Error(`no alert for ${host} within 120 s`);
      await sleep(200);
    }
  } finally {
    await heal(stack, host, lab);
    // Until every alert has resolved, the next fault's alert could be mistaken for this one's.
    for (const waitStarted = Date.now(); alerts(home, stack).some((a) => a.status === 'firing' && a.name !== 'Watchdog') && Date.now() - waitStarted < 90_000; ) await sleep(500);
  }
}

/** Resident memory of every process of each daemon (its process group), in MiB. */
export function memoryByDaemon(stack: string): Map<string, number> {
  const status = readStatus(stackPaths(home, stack).daemons);
  const groups = new Map<number, string>((status?.daemons ?? []).flatMap((d) => (d.pid ? [[d.pid, d.daemon] as const] : [])));
  const total = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const daemon = groups.get(pgrp);
      if (!daemon) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (rss) total.set(daemon, (total.get(daemon) ?? 0) + Number(rss[1]) / 1024);
    } catch {
      // The process ended while we looked.
    }
  }
  return total;
}

export async function benchMonitoring(): Promise<void> {
  const secured = (await loadDesign('secured')).stack;
  const sec = 'bench-alerts';
  const webKilled: number[] = [];
  const siteDown: number[] = [];
  try {
    if (readState(home, sec)) await down(sec, { ...lab, volumes: true });
    await up(secured, { ...lab, name: sec, install, designRef: 'secured' });
    // The pipeline is warm once the Watchdog has arrived.
    while (!alerts(home, sec).some((a) => a.name === 'Watchdog')) await sleep(500);
    for (let i = 0; i < RUNS; i++) {
      webKilled.push(await timeToAlert(sec, 'server-02', (name, labels) => (name === 'BackendDown' && labels.server === 'server-02') || (name === 'InstanceDown' && labels.host === 'server-02')));
      siteDown.push(await timeToAlert(sec, 'lb-01', (name) => name === 'SiteDown'));
    }
  } finally {
    if (readState(home, sec)) await down(sec, { ...lab, volumes: true });
  }
  console.log(`\nlab: from \`fail\` to the first alert at the receiver, secured, median of ${RUNS} runs, seconds (goal: under 30)`);
  console.log(`  a web server killed (BackendDown or InstanceDown)   ${(mid(webKilled) / 1000).toFixed(1)}   (${webKilled.map((t) => (t / 1000).toFixed(1)).join(', ')})`);
  console.log(`  the site down, its LB killed (SiteDown)              ${(mid(siteDown) / 1000).toFixed(1)}   (${siteDown.map((t) => (t / 1000).toFixed(1)).join(', ')})`);

  const ha = (await loadDesign('ha')).stack;
  const HA_UP_RUNS = Number(process.env.BENCH_HA_UP_RUNS ?? 5);
  const name = 'bench-ha-mem';
  try {
    // Several ups, each from nothing: two ACME orders make one up vary by seconds.
    const upTimes: number[] = [];
    for (let run = 0; run < HA_UP_RUNS; run++) {
      if (readState(home, name)) await down(name, { ...lab, volumes: true });
      const started = performance.now();
      await up(ha, { ...lab, name, install, designRef: 'ha' });
      upTimes.push(performance.now() - started);
    }
    console.log(`\nlab: up of ha, all of it (11 hosts, TLS by ACME, firewalls, monitoring, the cache), median of ${HA_UP_RUNS}: ${(mid(upTimes) / 1000).toFixed(1)} s (${upTimes.map((t) => (t / 1000).toFixed(1)).join(', ')}; issue 13's goal: under 5 s)`);
    // A minute of scraping and evaluating, so Prometheus holds what it keeps.
    await sleep(60_000);
    const memory = memoryByDaemon(name);
    const all = [...memory.values()].reduce((a, b) => a + b, 0);
    const watching = [...memory.entries()].filter(([d]) => MONITORING_DAEMONS.has(d));
    const monitoring = watching.reduce((a, [, mb]) => a + mb, 0);
    console.log(`\nlab: memory of ha's daemons after a minute (resident, MiB)`);
    for (const [daemon, mb] of watching.sort((a, b) => b[1] - a[1])) console.log(`  ${daemon.padEnd(20)} ${mb.toFixed(0).padStart(6)}`);
    console.log(`  monitoring, in all   ${monitoring.toFixed(0).padStart(6)}  of ${all.toFixed(0)} for the whole stack (${((monitoring / all) * 100).toFixed(0)} %)`);
  } finally {
    if (readState(home, name)) await down(name, { ...lab, volumes: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchMonitoring();
