import autocannon from 'autocannon';

// The load generator itself: autocannon, run inside a lab host's namespace (see main.ts), at a
// fixed overall rate for a fixed number of requests, reduced to what a verdict needs: how many
// answered with which status, how many failed, and the latency percentiles.

export interface LoadOptions {
  /** One URL, or several on the same origin, requested in turn. */
  readonly urls: readonly string[];
  readonly requests: number;
  /** Requests per second over all connections. */
  readonly rate: number;
  readonly connections: number;
  /** A request without an answer after this long counts as failed. */
  readonly timeoutS: number;
}

export interface LoadResult {
  readonly urls: readonly string[];
  /** Requests that were answered or failed (autocannon abandons those in flight when the count is reached). */
  readonly requests: number;
  /** Answers by HTTP status. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests that got no answer (refused, reset, timed out) plus answers of 400 and above. */
  readonly failed: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly durationS: number;
  /** Answers per second over the run. */
  readonly rps: number;
}

export const LIMITS = { requests: 100_000, rate: 20_000, connections: 256, timeoutS: 30 } as const;

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
        requests: [first, ...rest].map((u) => ({ method: 'GET', path: u.pathname + u.search })),
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
