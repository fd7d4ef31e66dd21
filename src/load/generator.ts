import autocannon from 'autocannon';
import type { LoadOptions, LoadResult } from './shape.ts';

// The load generator itself: autocannon, run inside a lab host's namespace (see main.ts), at a
// fixed overall rate for a fixed number of requests, reduced to what a verdict needs: how many
// answered with which status, how many failed, and the latency percentiles.

export type { LoadOptions, LoadResult } from './shape.ts';

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const [first, ...rest] = options.urls.map((u) => new URL(u));
  if (!first) throw new Error('no URL to load');
  if (rest.some((u) => u.origin !== first.origin)) throw new Error('every URL of one run must be on the same origin');
  // autocannon ends a run on its once-a-second tick, so its own duration is rounded up to whole
  // seconds: the rate is measured here, from the start to the last answer or error.
  const started = performance.now();
  let lastSeen = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: first.origin,
        requests: [first, ...rest].map((u) => ({ method: 'GET', path: u.pathname + u.search, ...(options.newConnections ? { headers: { connection: 'close' } } : {}) })),
        amount: options.requests,
        overallRate: options.rate,
        connections: Math.min(options.connections, options.requests),
        timeout: options.timeoutS,
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    const seen = () => (lastSeen = performance.now());
    instance.on('response', seen);
    instance.on('reqError', seen);
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]));
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const bad = Object.entries(statuses).filter(([code]) => Number(code) >= 400).reduce((sum, [, n]) => sum + n, 0);
  const durationS = Math.round(lastSeen - started) / 1000;
  return {
    urls: options.urls,
    requests: answered + result.errors,
    statuses,
    failed: result.errors + bad,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    durationS,
    rps: durationS > 0 ? Math.round((answered / durationS) * 10) / 10 : 0,
  };
}
