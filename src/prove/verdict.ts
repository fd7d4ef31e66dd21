import { breaks } from '../analysis/spof.ts';
import { evaluate, type Expr } from '../analysis/expr.ts';
import type { FlowPurpose, ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CLIENT, type Capability } from '../design/vocabulary.ts';
import { percentile } from '../load/generator.ts';
import type { UserOperation } from './workload.ts';

// What `prove` concludes, pure: what each fault cost each capability, whether every acknowledged
// write is stored exactly once on every database server, and, host by host, whether what users
// saw agrees with what `check` predicted.

/**
 * The faults `prove` makes: each takes a host away as `check` reasons about a lost host
 * (`restart`: for maintenance, cleanly; `partition`: from the hosts that send it users' requests
 * only, while it runs on and its peers still see it).
 */
export const PROVE_FAULTS = ['kill', 'freeze', 'cut', 'restart', 'partition'] as const;
export type ProveFault = (typeof PROVE_FAULTS)[number];

/** The flows that carry what users ask for, as opposed to a host's peers (replication, a cluster, VRRP) and monitoring. */
const SERVING: ReadonlySet<FlowPurpose> = new Set(['http', 'https', 'dns', 'proxy', 'app', 'sql-write', 'sql-read', 'cache']);

/**
 * The hosts a `partition` of `host` cuts it off from: those that send it users' requests (the
 * client, for an entry or a DNS server), not its peers, so that a primary is cut off from the apps
 * and not from its replica. None for a host no request passes through (monitoring).
 */
export function partitionedFrom(design: ResolvedStack, host: string): string[] {
  if (!design.hosts.some((h) => h.name === host)) return [CLIENT]; // the lab's stand-in for a managed DNS
  const senders = design.flows.filter((f) => f.to === host && f.from !== host && SERVING.has(f.purpose)).map((f) => f.from);
  return [...new Set(senders)];
}

export interface FaultRun {
  readonly host: string;
  readonly how: ProveFault;
  /** For a partition: the other side, and the virtual IPs the host held when it was cut off. */
  readonly partition?: { readonly from: readonly string[]; readonly held: readonly string[] };
  /** When the fault was made, `heal` asked for, and `heal` done (every daemon of the host ready), ms since the epoch. */
  readonly faultAt: number;
  readonly healAt: number;
  readonly healedAt: number;
  readonly operations: readonly UserOperation[];
}

export type Observed = 'survived' | 'broken' | 'unobserved';

export interface CapabilityMeasure {
  readonly capability: Capability;
  /** Operations due while the host was down (from the fault to `heal`). */
  readonly operations: number;
  /** Of those, the ones that failed, or were answered only after `heal`, more than a second late. */
  readonly failed: number;
  /** Writes whose outcome is unknown (sent, not answered), among the failed ones. */
  readonly indeterminate: number;
  /** From the fault to the start of the first and of the last failed operation, until the run's end; null without failures. */
  readonly errorWindowMs: { readonly first: number; readonly last: number } | null;
  /** From `heal` to the last failure after it; 0 when none failed after `heal`. */
  readonly recoveryMs: number;
  /** The slowest 1 % of the operations due while the host was down. */
  readonly p99Ms: number;
  readonly observed: Observed;
}

/**
 * What a fault cost each capability. A capability survived when nothing failed later than
 * `budgetMs` after the fault while the host was down: the time the design's own mechanisms take
 * to route around a lost host.
 */
export function measureFault(run: FaultRun, budgetMs: number): CapabilityMeasure[] {
  // Kept waiting for the heal: an answer that came only once the host was back, and late, did not
  // come while it was down (a frozen host's requests are answered when it thaws).
  const failedOp = (o: UserOperation) => o.outcome !== 'ok' || (o.start < run.healAt && o.end >= run.healAt && o.end - o.start > STALLED_MS);
  return CAPABILITIES.map((capability) => {
    const mine = run.operations.filter((o) => o.kind === capability);
    const down = mine.filter((o) => o.start >= run.faultAt && o.start < run.healAt);
    const failures = mine.filter((o) => o.start >= run.faultAt && failedOp(o));
    const failedWhileDown = failures.filter((o) => o.start < run.healAt);
    const lateFailure = failedWhileDown.some((o) => o.start > run.faultAt + budgetMs);
    const afterHeal = failures.filter((o) => o.start >= run.healAt);
    const latencies = down.map((o) => o.end - o.start).sort((a, b) => a - b);
    return {
      capability,
      operations: down.length,
      failed: failedWhileDown.length,
      indeterminate: failedWhileDown.filter((o) => o.outcome === 'indeterminate').length,
      errorWindowMs: failures.length > 0 ? { first: failures[0]!.start - run.faultAt, last: failures.at(-1)!.start - run.faultAt } : null,
      recoveryMs: afterHeal.length > 0 ? afterHeal.at(-1)!.start - run.healAt : 0,
      p99Ms: percentile(latencies, 99),
      observed: down.length === 0 ? 'unobserved' : lateFailure ? 'broken' : 'survived',
    };
  });
}

/** One slice of a fault's run: the operations due in it, by outcome; `at` is seconds from the fault. */
export interface TimelineBin {
  readonly at: number;
  readonly ok: number;
  readonly failed: number;
  readonly indeterminate: number;
}

/** The run's operations in slices of `binMs`, from its first operation to its last: what a fault's chart draws. */
export function timelineOf(run: FaultRun, binMs = 500): TimelineBin[] {
  if (run.operations.length === 0) return [];
  const first = Math.floor((Math.min(...run.operations.map((o) => o.start)) - run.faultAt) / binMs);
  const last = Math.floor((Math.max(...run.operations.map((o) => o.start)) - run.faultAt) / binMs);
  const bins = Array.from({ length: last - first + 1 }, (_, i) => ({ at: ((first + i) * binMs) / 1000, ok: 0, failed: 0, indeterminate: 0 }));
  for (const o of run.operations) bins[Math.floor((o.start - run.faultAt) / binMs) - first]![o.outcome === 'ok' ? 'ok' : o.outcome]++;
  return bins;
}

/** An operation answered after `heal` and this late was kept waiting for it: it failed while the host was down. */
const STALLED_MS = 1_000;

/** How long the design's own mechanisms may take to route around a lost host, plus a request's time in flight. */
export function failoverBudgetMs(design: ResolvedStack): number {
  const { healthChecks } = design.policies;
  const mechanisms = [
    // HAProxy marks a backend down after `fall` failed checks, `intervalMs` apart.
    healthChecks.enabled ? healthChecks.intervalMs * (healthChecks.fall + 1) : 0,
    // keepalived moves a virtual IP within about a second.
    design.virtualIps.length > 0 ? 1_000 : 0,
    // A Galera cluster evicts a silent member and the write address moves within two seconds.
    design.policies.db.replication === 'galera' ? 2_000 : 0,
  ];
  return Math.max(...mechanisms) + IN_FLIGHT_MS;
}

/** What a request already sent to the lost host may take to fail over (the app's database deadline, retried once, and HAProxy's retry). */
const IN_FLIGHT_MS = 2_000;

export type Predicted = 'breaks' | 'survives' | 'outside';

export interface VerdictRow {
  readonly host: string;
  readonly capability: Capability;
  /** `check`'s word: the host is a single point of failure for it, or not; `outside` for a host the design does not own (the lab's stand-in for a managed DNS). */
  readonly predicted: Predicted;
  /** Where a partition of the host is predicted otherwise than its loss: it kept a virtual IP that its peers, still seeing it, did not take over. */
  readonly partition?: { readonly predicted: Predicted; readonly why: string };
  readonly observed: Partial<Record<ProveFault, Observed>>;
  readonly agrees: boolean;
}

/** Host by host and capability by capability, `check`'s prediction against what each fault showed. */
export function verdictRows(design: ResolvedStack, expressions: Record<Capability, Expr>, measured: readonly { run: FaultRun; measures: readonly CapabilityMeasure[] }[]): VerdictRow[] {
  const rows: VerdictRow[] = [];
  // In the design's order whatever order the faults came in (a seed shuffles them); the lab's DNS last.
  const order = (host: string) => {
    const i = design.hosts.findIndex((h) => h.name === host);
    return i < 0 ? design.hosts.length : i;
  };
  const hosts = [...new Set(measured.map((m) => m.run.host))].sort((a, b) => order(a) - order(b));
  for (const host of hosts) {
    const owned = design.hosts.some((h) => h.name === host);
    const partitioned = measured.find((m) => m.run.host === host && m.run.partition)?.run.partition;
    for (const capability of CAPABILITIES) {
      const predicted: Predicted = !owned ? 'outside' : breaks(expressions[capability], host) ? 'breaks' : 'survives';
      const partition = owned && partitioned ? partitionPrediction(design, expressions[capability], capability, host, partitioned.held) : null;
      const observed: Partial<Record<ProveFault, Observed>> = {};
      for (const { run, measures } of measured.filter((m) => m.run.host === host)) observed[run.how] = measures.find((m) => m.capability === capability)!.observed;
      const expected = (fault: ProveFault) => (fault === 'partition' && partition ? partition.predicted : predicted);
      const agrees = predicted === 'outside' || Object.entries(observed).every(([fault, o]) => o === 'unobserved' || (expected(fault as ProveFault) === 'breaks' ? o === 'broken' : o === 'survived'));
      rows.push({ host, capability, predicted, ...(partition && partition.predicted !== predicted ? { partition } : {}), observed, agrees });
    }
  }
  return rows;
}

/**
 * A partition of a host that holds a virtual IP: keepalived moves an address when its holder
 * stops speaking VRRP to its peers, and a holder cut off only from its clients goes on speaking,
 * so the address stays where no client reaches it. Whatever comes through it breaks as though
 * every one of its holders were lost: users' requests through the load balancers' address, writes
 * through a database cluster's.
 */
function partitionPrediction(design: ResolvedStack, e: Expr, capability: Capability, host: string, held: readonly string[]): { predicted: Predicted; why: string } | null {
  for (const vip of design.virtualIps.filter((v) => held.includes(v.address) && v.holders.includes(host))) {
    const through = vip.role === 'db' ? capability === 'write' : capability !== 'resolve';
    const holders = new Set(vip.holders);
    if (through && evaluate(e, () => true) && !evaluate(e, (h) => !holders.has(h))) {
      return { predicted: 'breaks', why: `${host} kept ${vip.address}: its peers (${vip.holders.filter((h) => h !== host).join(', ')}) still saw it, so keepalived did not move it` };
    }
  }
  return null;
}

/** The hosts and faults of a verdict, in the order they were made: its table's rows and each cell's columns. */
export function verdictGrid(verdict: readonly VerdictRow[]): { hosts: string[]; faults: ProveFault[]; row: (host: string, capability: Capability) => VerdictRow } {
  return {
    hosts: [...new Set(verdict.map((v) => v.host))],
    faults: PROVE_FAULTS.filter((f) => verdict.some((v) => v.observed[f] !== undefined)),
    row: (host, capability) => verdict.find((v) => v.host === host && v.capability === capability)!,
  };
}

export interface ServerWrites {
  readonly host: string;
  /** Acknowledged writes it does not hold. */
  readonly missing: readonly string[];
  /** Keys it holds more than once. */
  readonly duplicated: readonly string[];
  /** Writes the client was told were refused, which it holds all the same. */
  readonly refusedButStored: readonly string[];
}

export interface Consistency {
  readonly acknowledged: number;
  readonly refused: number;
  readonly indeterminate: number;
  /** Of the writes of unknown outcome, how many every server holds. */
  readonly indeterminateStored: number;
  readonly servers: readonly ServerWrites[];
  /** A session that wrote, then read its post back after the write was acknowledged, and did not find it. */
  readonly readYourWritesViolations: readonly { readonly session: number; readonly postId: number; readonly at: number; readonly servedBy?: string; readonly readFrom?: string }[];
  readonly ok: boolean;
}

/** Jepsen's question for this workload: is every acknowledged write stored, once, on every database server? */
export function checkConsistency(operations: readonly UserOperation[], stored: ReadonlyMap<string, ReadonlyMap<string, number>>): Consistency {
  const writes = operations.filter((o) => o.kind === 'write' && o.key !== undefined);
  const keys = (outcome: UserOperation['outcome']) => writes.filter((w) => w.outcome === outcome).map((w) => w.key!);
  const acknowledged = keys('ok');
  const refused = keys('failed');
  const indeterminate = keys('indeterminate');
  const servers = [...stored].map(([host, held]): ServerWrites => ({
    host,
    missing: acknowledged.filter((k) => !held.has(k)),
    duplicated: [...held].filter(([, count]) => count > 1).map(([k]) => k),
    refusedButStored: refused.filter((k) => held.has(k)),
  }));
  const violations = operations.filter((o) => o.sawOwnWrite === false).map((o) => ({ session: o.session, postId: o.postId!, at: o.start, ...(o.servedBy ? { servedBy: o.servedBy } : {}), ...(o.readFrom ? { readFrom: o.readFrom } : {}) }));
  return {
    acknowledged: acknowledged.length,
    refused: refused.length,
    indeterminate: indeterminate.length,
    indeterminateStored: indeterminate.filter((k) => [...stored.values()].every((held) => held.has(k))).length,
    servers,
    readYourWritesViolations: violations,
    ok: servers.every((s) => s.missing.length === 0 && s.duplicated.length === 0 && s.refusedButStored.length === 0) && violations.length === 0,
  };
}
