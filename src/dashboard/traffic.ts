import type { Traffic } from '../lab/traffic.ts';

// The traffic the dashboard charts, per tier and per host: from Prometheus's recording rules when
// the stack has monitoring (`lab/traffic.ts`), else from HAProxy's own counters, read twice and
// differenced. HAProxy keeps no percentiles, only a mean response time over its last 1024
// requests; the page says which it shows. Pure: the counters are parsed and differenced here.

export interface TrafficFigures {
  readonly name: string;
  readonly tier: string;
  readonly requestsPerSecond: number;
  /** Null without requests, or where the source has no status codes. */
  readonly errorRatio: number | null;
  readonly latencyMs: number | null;
}

export interface TrafficView {
  /** When the figures were read (ms since the epoch): a chart adds a point for each new reading. */
  readonly at: number;
  /** Where the figures come from, and what their latency is. */
  readonly source: 'prometheus' | 'haproxy';
  readonly from: string;
  readonly latency: 'p99' | 'mean';
  readonly tiers: readonly TrafficFigures[];
  readonly hosts: readonly TrafficFigures[];
}

export function fromPrometheus(t: Traffic, at: number): TrafficView {
  return {
    at,
    source: 'prometheus',
    from: t.from,
    latency: 'p99',
    tiers: t.tiers.map((f) => ({ name: f.tier, tier: f.tier, requestsPerSecond: f.requestsPerSecond, errorRatio: f.errorRatio, latencyMs: f.p99Ms })),
    hosts: t.hosts.map((h) => ({ name: h.host, tier: h.tier, requestsPerSecond: h.requestsPerSecond, errorRatio: null, latencyMs: h.p99Ms })),
  };
}

/** One reading of a load balancer's counters: the frontend (the lb tier) and each backend server. */
export interface HaproxyCounters {
  readonly lb: string;
  readonly at: number;
  readonly rows: readonly { readonly proxy: string; readonly name: string; readonly requests: number; readonly errors: number; readonly meanMs: number | null }[];
}

/** The frontend's and the backend servers' rows of HAProxy's CSV statistics, with their running totals. */
export function parseHaproxyCounters(lb: string, at: number, csv: string): HaproxyCounters {
  const [head, ...lines] = csv.trim().split('\n');
  const columns = (head ?? '').replace(/^# /, '').split(',');
  const field = (fields: string[], name: string) => fields[columns.indexOf(name)] ?? '';
  const rows = lines
    .map((line) => line.split(','))
    .filter((f) => (field(f, 'svname') === 'FRONTEND' && field(f, 'pxname') !== 'stats') || (field(f, 'pxname') === 'servers' && !['FRONTEND', 'BACKEND'].includes(field(f, 'svname'))))
    .map((f) => ({
      proxy: field(f, 'pxname'),
      name: field(f, 'svname') === 'FRONTEND' ? lb : field(f, 'svname'),
      // A server in HTTP mode counts requests; sessions for one that does not.
      requests: Number(field(f, 'req_tot') || field(f, 'stot')) || 0,
      errors: Number(field(f, 'hrsp_5xx')) || 0,
      meanMs: field(f, 'rtime') === '' ? null : Number(field(f, 'rtime')),
    }));
  return { lb, at, rows };
}

/** Rates between two readings of every load balancer: the lb tier from the frontends, each server from its row, summed over the lbs. */
export function fromHaproxy(before: readonly HaproxyCounters[], after: readonly HaproxyCounters[], tierOf: (host: string) => string): TrafficView | null {
  const figures = new Map<string, { tier: string; requests: number; errors: number; seconds: number; means: number[] }>();
  for (const now of after) {
    const then = before.find((b) => b.lb === now.lb);
    if (!then || now.at <= then.at) continue;
    const seconds = (now.at - then.at) / 1000;
    for (const row of now.rows) {
      const old = then.rows.find((r) => r.proxy === row.proxy && r.name === row.name);
      if (!old) continue;
      const isFrontend = row.name === now.lb;
      const entry = figures.get(row.name) ?? { tier: isFrontend ? 'lb' : tierOf(row.name), requests: 0, errors: 0, seconds, means: [] };
      // A counter that went back (HAProxy restarted) starts again from zero.
      entry.requests += Math.max(0, row.requests >= old.requests ? row.requests - old.requests : row.requests);
      entry.errors += Math.max(0, row.errors >= old.errors ? row.errors - old.errors : row.errors);
      if (row.meanMs !== null && !isFrontend) entry.means.push(row.meanMs);
      figures.set(row.name, entry);
    }
  }
  if (figures.size === 0) return null;
  const hosts = [...figures].map(([name, f]) => ({
    name,
    tier: f.tier,
    requestsPerSecond: round(f.requests / f.seconds),
    errorRatio: f.requests > 0 ? round(f.errors / f.requests) : null,
    latencyMs: f.means.length > 0 ? Math.max(...f.means) : null,
  }));
  const tiers = [...new Set(hosts.map((h) => h.tier))].map((tier) => {
    const mine = hosts.filter((h) => h.tier === tier);
    const requests = mine.reduce((sum, h) => sum + h.requestsPerSecond, 0);
    const errors = mine.reduce((sum, h) => sum + (h.errorRatio ?? 0) * h.requestsPerSecond, 0);
    const latencies = mine.flatMap((h) => (h.latencyMs === null ? [] : [h.latencyMs]));
    return { name: tier, tier, requestsPerSecond: round(requests), errorRatio: requests > 0 ? round(errors / requests) : null, latencyMs: latencies.length ? Math.max(...latencies) : null };
  });
  return { at: Math.max(...after.map((a) => a.at)), source: 'haproxy', from: after.map((a) => a.lb).join(', '), latency: 'mean', tiers, hosts: hosts.filter((h) => h.tier !== 'lb') };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
