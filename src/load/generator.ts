import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LoadOptions, LoadResult, Operation } from './shape.ts';

// The load generator, run inside a lab host's namespace (see main.ts): an open model (or, asked for,
// a closed one: see LoadOptions.closed). Request i is
// due at start + i / rate, whatever happened to the ones before it, so a stall shows as errors and
// latency, not as fewer requests; its latency is measured from when it was due, so time spent
// waiting for a free connection counts (no coordinated omission). Each request is one operation
// whatever its fate: an answer (by status), a connection error, an answer that is not HTTP, or a
// timeout; nothing is retried. Node's own HTTP client, with at most `connections` sockets.

export type { LoadOptions, LoadResult } from './shape.ts';

/**
 * What a fault cost: the requests due from `faultAt` on that failed, and the window from the fault
 * to the first request after it that succeeded after the last of them (0 when none failed).
 */
export function failoverWindow(timeline: readonly Operation[], faultAt: number): { failed: number; windowMs: number } {
  const after = timeline.filter((o) => o.dueAt >= faultAt);
  const failures = after.filter((o) => !o.ok);
  if (failures.length === 0) return { failed: 0, windowMs: 0 };
  const lastFailure = failures.at(-1)!.dueAt;
  const recovered = after.find((o) => o.ok && o.dueAt > lastFailure);
  return { failed: failures.length, windowMs: (recovered?.dueAt ?? lastFailure) - faultAt };
}

type Outcome = { readonly kind: 'answer'; readonly status: number } | { readonly kind: 'error' } | { readonly kind: 'timeout' };

/** The percentile of sorted values by the nearest-rank method: an observed value, never a made-up one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Puts the outcomes of a run together: pure, so it is tested on its own. */
export function summarise(urls: readonly string[], outcomes: readonly { outcome: Outcome; latencyMs: number }[], durationMs: number): LoadResult {
  const statuses: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  for (const { outcome } of outcomes) {
    if (outcome.kind === 'answer') statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
    else if (outcome.kind === 'timeout') timeouts++;
    else errors++;
  }
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const bad = Object.entries(statuses).filter(([code]) => Number(code) >= 400).reduce((sum, [, n]) => sum + n, 0);
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const durationS = Math.round(durationMs) / 1000;
  return {
    urls,
    requests: outcomes.length,
    statuses,
    failed: errors + timeouts + bad,
    errors,
    timeouts,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? 0),
      mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
    },
    durationS,
    rps: durationS > 0 ? Math.round((answered / durationS) * 10) / 10 : 0,
  };
}

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const urls = options.urls.map((u) => new URL(u));
  const [first, ...rest] = urls;
  if (!first) throw new Error('no URL to load');
  if (rest.some((u) => u.origin !== first.origin)) throw new Error('every URL of one run must be on the same origin');
  const https = first.protocol === 'https:';
  const keepAlive = !options.newConnections;
  const maxSockets = Math.min(options.connections, options.requests);
  // HTTPS as a browser would, but without verifying the certificate (curl and audit do that).
  const agent = https ? new HttpsAgent({ keepAlive, maxSockets, rejectUnauthorized: false }) : new HttpAgent({ keepAlive, maxSockets });
  const send = https ? httpsRequest : httpRequest;
  const timeoutMs = options.timeoutS * 1000;
  const intervalMs = 1000 / options.rate;

  // One run's writes are told apart from another's by their keys.
  const runId = `load-${Date.now().toString(36)}-${process.pid}`;
  const write = (i: number) => {
    const body = JSON.stringify({ author: 'load', body: `write ${i} of ${runId}` });
    return { body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'idempotency-key': `${runId}-${i}` } };
  };

  const one = (url: URL, dueAt: number, i: number): Promise<{ outcome: Outcome; latencyMs: number }> =>
    new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ outcome, latencyMs: performance.now() - dueAt });
      };
      const posted = options.writes ? write(i) : null;
      const headers = { ...(keepAlive ? {} : { connection: 'close' }), ...posted?.headers };
      const req = send(url, { agent, method: posted ? 'POST' : 'GET', headers }, (res: IncomingMessage) => {
        res.on('data', () => undefined);
        res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0 }));
        res.on('error', () => finish({ kind: 'error' }));
      });
      // The deadline runs from when the request was due, as its latency does.
      timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        req.destroy();
      }, Math.max(0, dueAt + timeoutMs - performance.now()));
      req.on('error', () => finish({ kind: 'error' }));
      req.end(posted?.body);
    });

  const started = performance.now();
  const dueTimes: number[] = [];
  type Done = { outcome: Outcome; latencyMs: number };
  const open = async (): Promise<Done[]> => {
    const pending: Promise<Done>[] = [];
    for (let i = 0; i < options.requests; i++) {
      dueTimes[i] = started + i * intervalMs;
      const wait = dueTimes[i]! - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(one(urls[i % urls.length]!, dueTimes[i]!, i));
    }
    return Promise.all(pending);
  };
  // Each connection sends the next request as soon as the last one is answered, until all are sent.
  const closed = async (): Promise<Done[]> => {
    const done: Done[] = [];
    let next = 0;
    const connection = async () => {
      for (let i = next++; i < options.requests; i = next++) {
        dueTimes[i] = performance.now();
        done[i] = await one(urls[i % urls.length]!, dueTimes[i]!, i);
      }
    };
    await Promise.all(Array.from({ length: maxSockets }, connection));
    return done;
  };
  const outcomes = options.closed ? await closed() : await open();
  const durationMs = performance.now() - started;
  agent.destroy();
  const result = summarise(options.urls, outcomes, durationMs);
  if (!options.timeline) return result;
  // On the machine's clock, so that a fault's recorded time can be placed among the requests.
  const epoch = Date.now() - performance.now();
  const timeline = outcomes.map((o, i) => ({ dueAt: Math.round(epoch + dueTimes[i]!), latencyMs: Math.round(o.latencyMs), ok: o.outcome.kind === 'answer' && o.outcome.status < 400 }));
  return { ...result, timeline };
}
