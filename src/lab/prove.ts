import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capabilityExpressions } from '../analysis/capabilities.ts';
import { isDatabaseRole } from '../design/vocabulary.ts';
import { withPrimary } from '../design/promote.ts';
import { APP_DATABASE } from '../daemons/mariadb.ts';
import { programCommand, REPO_ROOT } from '../entry.ts';
import { stackPaths } from '../plan/paths.ts';
import { faultSchedule } from '../prove/schedule.ts';
import { checkConsistency, failoverBudgetMs, measureFault, partitionedFrom, verdictRows, type CapabilityMeasure, type Consistency, type FaultRun, type ProveFault, type TimelineBin, type VerdictRow, timelineOf } from '../prove/verdict.ts';
import type { UserOperation, WorkloadOptions } from '../prove/workload.ts';
import { labError } from './errors.ts';
import { fail, heal, partition } from './faults.ts';
import { sqlOn } from './sql.ts';
import { readPromotion, readRunningDesign, runningHost, siteBase, type StackState } from './state.ts';
import type { Target } from './target.ts';

// `prove`: every host of a running stack broken in turn, each way, under a steady workload of
// what users do (prove/workload.ts), then healed; what users saw measured per capability and held
// against what `check` predicted; and at the end, every acknowledged write looked for on every
// database server. Each fault: a quiet baseline, the fault, a hold, `heal`, a recovery period.

export interface ProveRequest {
  /** The hosts to break; every host of the stack (and the lab's managed DNS) when absent. */
  readonly only?: readonly string[];
  readonly faults: readonly ProveFault[];
  readonly holdMs: number;
  /** Operations per second, of every kind together. */
  readonly rate: number;
  readonly baselineMs?: number;
  readonly recoveryMs?: number;
  readonly sessions?: number;
  /** Shuffles the order of the faults (prove/schedule.ts); the design's order without one. */
  readonly seed?: number;
}

export interface ProveOptions {
  readonly home: string;
  readonly target: Target;
  readonly say: (line: string) => void;
  /** Where to write the HTML report (prove/report.ts), if anywhere. */
  readonly report?: string;
}

export interface ProvedFault {
  readonly host: string;
  readonly how: ProveFault;
  /** For a partition: the hosts it was cut off from, and the virtual IPs it held then. */
  readonly partition?: FaultRun['partition'];
  readonly faultAt: string;
  readonly holdMs: number;
  /** From `heal` asked for to every daemon of the host ready. */
  readonly healMs: number;
  readonly operations: number;
  readonly measures: readonly CapabilityMeasure[];
  /** Operations by outcome in half-second slices, from the baseline to the end of the recovery. */
  readonly timeline: readonly TimelineBin[];
}

export interface ProveReport {
  readonly stack: string;
  readonly run: string;
  /** The seed the faults were shuffled with; null: in the design's order. */
  readonly seed: number | null;
  readonly budgetMs: number;
  readonly faults: readonly ProvedFault[];
  readonly verdict: readonly VerdictRow[];
  readonly consistency: Consistency;
  readonly durationS: number;
  /** No disagreement with `check`, no acknowledged write lost or stored twice, no refused write stored, no read-your-writes violation. */
  readonly ok: boolean;
}

/**
 * A user waits `timeoutMs` for an answer: less than a fault's hold, so that an operation stalled
 * by a fault fails rather than succeeding once the host is healed.
 */
const DEFAULTS = { baselineMs: 1_500, recoveryMs: 2_500, sessions: 8, timeoutMs: 2_500 } as const;
/** How long the database servers may take to agree on the writes after the last heal. */
const SETTLE_MS = 15_000;

export async function prove(stack: string, request: ProveRequest, options: ProveOptions): Promise<ProveReport> {
  const { home, target, say } = options;
  const { state } = runningHost(home, stack, 'client');
  const running = readRunningDesign(home, stack);
  if (!running) throw labError('no-stack', `there is no stack named '${stack}'.`);
  const design = withPrimary(running.design, readPromotion(home, stack));
  const hosts = faultableHosts(state, design.hosts.map((h) => h.name), request.only);
  const budgetMs = failoverBudgetMs(design);
  const run = `prove-${Date.now().toString(36)}`;
  const base = siteBase(running);
  const started = Date.now();
  const scratch = join(stackPaths(home, stack).run, 'prove');
  const seed = request.seed ?? null;
  const schedule = faultSchedule(hosts, request.faults, (host) => partitionedFrom(design, host), seed);
  const total = schedule.length;
  say(`${stack}: breaking ${hosts.join(', ')} (${request.faults.join(', ')}) ${seed === null ? 'in turn' : `in the order of seed ${seed}`}, ${total} fault${total === 1 ? '' : 's'}, under ${request.rate} operations a second from the client; a capability survives a fault when nothing fails later than ${(budgetMs / 1000).toFixed(1)} s after it`);
  const unpartitioned = request.faults.includes('partition') ? hosts.filter((h) => !schedule.some((s) => s.host === h && s.how === 'partition')) : [];
  if (unpartitioned.length > 0) say(`  no partition of ${unpartitioned.join(', ')}: no user's request reaches ${unpartitioned.length === 1 ? 'it' : 'them'} from another host`);

  const measured: { run: FaultRun; measures: CapabilityMeasure[] }[] = [];
  const operations: UserOperation[] = [];
  for (const { host, how, from } of schedule) {
    const index = measured.length + 1;
    const stopFile = join(scratch, `${run}-${index}.stop`);
    const workload: WorkloadOptions = {
      base,
      rate: request.rate,
      maxDurationMs: (request.baselineMs ?? DEFAULTS.baselineMs) + request.holdMs + (request.recoveryMs ?? DEFAULTS.recoveryMs) + 120_000,
      stopFile,
      sessions: request.sessions ?? DEFAULTS.sessions,
      timeoutMs: DEFAULTS.timeoutMs,
      run: `${run}-${index}`,
    };
    const users = target.run(state.hosts.find((h) => h.name === 'client')!.namespace, [...programCommand(process.execPath, REPO_ROOT, 'prove/workload-main'), JSON.stringify(workload)], { allowFailure: true, timeoutMs: workload.maxDurationMs + 30_000 });
    let faultAt = 0;
    let healAt = 0;
    let healedAt = 0;
    let held: readonly string[] = [];
    try {
      await sleep(request.baselineMs ?? DEFAULTS.baselineMs);
      faultAt = Date.now();
      const quiet = { home, target, say: () => undefined };
      if (how === 'partition') {
        const made = await partition(stack, [host], from!, quiet);
        held = (made.partition?.addresses[host] ?? []).filter((a) => design.virtualIps.some((v) => v.address === a));
      } else {
        await fail(stack, host, how, quiet);
      }
      await sleep(request.holdMs);
    } finally {
      healAt = Date.now();
      await heal(stack, host, { home, target, say: () => undefined }).catch((error: Error) => say(`  ! ${host} did not heal cleanly: ${error.message}`));
      healedAt = Date.now();
      await sleep(request.recoveryMs ?? DEFAULTS.recoveryMs);
      target.writeFile({ path: stopFile, content: '', mode: 0o644 });
    }
    const result = await users;
    target.remove(stopFile);
    if (result.exitCode !== 0) throw labError('load-failed', `the workload on the client failed: ${result.stderr.trim() || `exit status ${result.exitCode}`}`);
    const ops = JSON.parse(result.stdout) as UserOperation[];
    operations.push(...ops);
    const faultRun: FaultRun = { host, how, ...(from ? { partition: { from, held } } : {}), faultAt, healAt, healedAt, operations: ops };
    const measures = measureFault(faultRun, budgetMs);
    measured.push({ run: faultRun, measures });
    say(`  [${index}/${total}] ${host} ${how}${from ? ` from ${from.join(', ')}` : ''}: ${measures.map(describeMeasure).join('; ')}; healed in ${((healedAt - healAt) / 1000).toFixed(1)} s`);
  }

  const consistency = checkConsistency(operations, await storedWrites(home, state, target, design.hosts.filter((h) => h.roles.some(isDatabaseRole)).map((h) => h.name), run));
  const verdict = verdictRows(design, capabilityExpressions(design), measured);
  const faults = measured.map(({ run: r, measures }) => ({ host: r.host, how: r.how, ...(r.partition ? { partition: r.partition } : {}), faultAt: new Date(r.faultAt).toISOString(), holdMs: r.healAt - r.faultAt, healMs: r.healedAt - r.healAt, operations: r.operations.length, measures, timeline: timelineOf(r) }));
  const proved: ProveReport = { stack, run, seed, budgetMs, faults, verdict, consistency, durationS: Math.round((Date.now() - started) / 100) / 10, ok: consistency.ok && verdict.every((v) => v.agrees) };
  if (options.report) {
    const { proveReportHtml } = await import('../prove/report.ts');
    writeFileSync(options.report, await proveReportHtml(proved, design));
    say(`  the report: ${options.report}`);
  }
  return proved;
}

/** The hosts a run breaks: the design's, and the lab's managed DNS (the client and the lab's ACME CA are not the stack's). */
function faultableHosts(state: StackState, designed: readonly string[], only: readonly string[] | undefined): string[] {
  const all = state.hosts.filter((h) => designed.includes(h.name) || h.roles.includes('dns')).map((h) => h.name);
  if (!only) return all;
  for (const host of only) {
    if (!all.includes(host)) throw labError('no-host', `stack '${state.stack}' has no host '${host}' to break; its hosts: ${all.join(', ')}.`);
  }
  return all.filter((h) => only.includes(h));
}

function describeMeasure(m: CapabilityMeasure): string {
  if (m.observed === 'unobserved') return `${m.capability} not tried`;
  if (m.failed === 0) return `${m.capability} survived`;
  const window = m.errorWindowMs ? ` from ${(m.errorWindowMs.first / 1000).toFixed(1)} to ${(m.errorWindowMs.last / 1000).toFixed(1)} s` : '';
  return `${m.capability} ${m.observed} (${m.failed} of ${m.operations} failed${window})`;
}

/**
 * The run's writes each database server holds, by key and count, once the servers agree (or after
 * SETTLE_MS): a replica may still be applying the last ones.
 */
async function storedWrites(home: string, state: StackState, target: Target, servers: readonly string[], run: string): Promise<Map<string, Map<string, number>>> {
  const sql = sqlOn(home, state, target);
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const held = new Map<string, Map<string, number>>();
    for (const server of servers) {
      const { ok, out } = await sql(server, `SELECT idempotency_key, COUNT(*) FROM ${APP_DATABASE}.posts WHERE idempotency_key LIKE '${run}-%' GROUP BY idempotency_key`);
      if (!ok) throw labError('command-failed', `could not read the writes ${server} holds: ${out}`);
      held.set(server, new Map(out.split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]).map(([key, count]) => [key, Number(count)])));
    }
    const sizes = new Set([...held.values()].map((h) => [...h.values()].reduce((a, b) => a + b, 0)));
    if (sizes.size <= 1 || Date.now() > deadline) return held;
    await sleep(500);
  }
}
