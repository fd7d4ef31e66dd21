import type { DaemonSpec } from '../daemons/types.ts';
import type { Target } from './target.ts';

// The numbers a person reads: each tier's and each host's requests per second, error ratio and
// p99 latency over the last minute, from the recording rules of a monitoring host's Prometheus.
// `status` shows them once; `top` every two seconds.

export interface TierFigures {
  readonly tier: string;
  readonly requestsPerSecond: number;
  /** Null when the tier has no error figure (nginx's counters have no status codes) or no requests. */
  readonly errorRatio: number | null;
  readonly p99Ms: number | null;
}

export interface HostFigures {
  readonly host: string;
  readonly tier: string;
  readonly requestsPerSecond: number;
  readonly p99Ms: number | null;
}

export interface Traffic {
  /** The monitoring host whose Prometheus answered. */
  readonly from: string;
  readonly tiers: readonly TierFigures[];
  readonly hosts: readonly HostFigures[];
}

interface Series {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

const QUERIES = {
  tierRate: 'tier:http_requests:rate1m',
  tierErrors: 'tier:http_errors:ratio_rate1m',
  tierP99: 'tier:http_request_duration_seconds:p99',
  hostRate: 'host:http_requests:rate1m',
  hostP99: 'host:http_request_duration_seconds:p99',
} as const;

const TIER_ORDER = ['lb', 'web', 'app'];

/** Puts the answers to QUERIES together: pure, so it is tested without a Prometheus. */
export function figuresFrom(from: string, answers: Record<keyof typeof QUERIES, readonly Series[]>): Traffic {
  const value = (s: Series | undefined) => (s && Number.isFinite(Number(s.value[1])) ? Number(s.value[1]) : null);
  const ms = (s: Series | undefined) => (value(s) === null ? null : value(s)! * 1000);
  const tiers = answers.tierRate
    .map((s): TierFigures => {
      const tier = s.metric.tier!;
      return { tier, requestsPerSecond: value(s) ?? 0, errorRatio: value(answers.tierErrors.find((e) => e.metric.tier === tier)), p99Ms: ms(answers.tierP99.find((e) => e.metric.tier === tier)) };
    })
    .sort((a, b) => TIER_ORDER.indexOf(a.tier) - TIER_ORDER.indexOf(b.tier));
  const hosts = answers.hostRate
    .map((s): HostFigures => ({ host: s.metric.host!, tier: s.metric.tier!, requestsPerSecond: value(s) ?? 0, p99Ms: ms(answers.hostP99.find((e) => e.metric.host === s.metric.host && e.metric.tier === s.metric.tier)) }))
    .sort((a, b) => TIER_ORDER.indexOf(a.tier) - TIER_ORDER.indexOf(b.tier) || a.host.localeCompare(b.host));
  return { from, tiers, hosts };
}

/** The stack's Prometheus servers, from what the supervisor runs: host, namespace and address. */
function prometheusServers(specs: readonly DaemonSpec[]): { host: string; namespace: string; address: string }[] {
  return specs
    .filter((s) => s.daemon === 'prometheus')
    .map((s) => ({ host: s.host, namespace: s.namespace, address: s.command.find((a) => a.startsWith('--web.listen-address='))!.split('=')[1]! }));
}

/** Asks the first monitoring host that answers; null when the stack has none, or none answers. */
export async function traffic(specs: readonly DaemonSpec[], target: Target): Promise<Traffic | null> {
  for (const server of prometheusServers(specs)) {
    const ask = async (query: string): Promise<Series[]> => {
      const url = `http://${server.address}/api/v1/query`;
      const out = await target.run(server.namespace, ['curl', '-s', '--max-time', '2', url, '--data-urlencode', `query=${query}`], { allowFailure: true, timeoutMs: 4000 });
      if (out.exitCode !== 0) throw new Error(`${server.host}'s Prometheus did not answer`);
      return (JSON.parse(out.stdout) as { data: { result: Series[] } }).data.result;
    };
    try {
      const keys = Object.keys(QUERIES) as (keyof typeof QUERIES)[];
      const results = await Promise.all(keys.map((k) => ask(QUERIES[k])));
      return figuresFrom(server.host, Object.fromEntries(keys.map((k, i) => [k, results[i]!])) as Record<keyof typeof QUERIES, Series[]>);
    } catch {
      // The next monitoring host, if there is one.
    }
  }
  return null;
}

const rate = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} req/s`;
const percent = (r: number | null) => (r === null ? '' : `${(r * 100).toFixed(r < 0.01 && r > 0 ? 2 : 1)} % errors`);
const latency = (ms: number | null) => (ms === null ? '' : `p99 ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`);

/** Lines for `status`: one per tier. */
export function formatTiers(t: Traffic): string[] {
  return t.tiers.map((f) => `  ${f.tier.padEnd(4)} ${[rate(f.requestsPerSecond), percent(f.errorRatio), latency(f.p99Ms)].filter(Boolean).join(', ')}`);
}

/** The screen `top` draws: tiers, then hosts. */
export function formatTop(stack: string, t: Traffic | null, at: Date): string {
  if (!t) return `${stack}: no monitoring host answers (yet); top reads the figures from Prometheus\n`;
  const hostRows = t.hosts.map((h) => `  ${h.host.padEnd(12)} ${h.tier.padEnd(4)} ${rate(h.requestsPerSecond).padStart(12)}  ${latency(h.p99Ms)}`);
  return [`${stack} at ${at.toISOString().slice(11, 19)}, last minute, from ${t.from}'s Prometheus`, '', 'TIER', ...formatTiers(t), '', 'HOST           TIER    REQUESTS', ...hostRows, ''].join('\n');
}

export const TOP_INTERVAL_MS = 2000;
