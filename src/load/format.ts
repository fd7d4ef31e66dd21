import type { LoadResult } from './shape.ts';

/** A load result as a person reads it: what was asked, what came back, and how fast. */
export function formatLoad(r: LoadResult): string {
  const statuses = Object.entries(r.statuses).map(([code, n]) => `${code} ×${n}`).join(', ') || 'none';
  const l = r.latencyMs;
  return [
    `${r.requests} requests to ${r.urls.join(', ')} in ${r.durationS.toFixed(1)} s (${r.rps} answers/s)`,
    `  answers:  ${statuses}`,
    `  failed:   ${r.failed}${r.errors ? ` (${r.errors} without an answer, ${r.timeouts} of them timed out)` : ''}`,
    `  latency:  p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms`,
    '',
  ].join('\n');
}
