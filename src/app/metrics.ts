import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { ReadReason } from './routing.ts';

// What the foobar app tells Prometheus at GET /metrics (prom-client): requests by route and status,
// their latency, and which database served each read and why. Names start with app_, the names the
// recording rules read (src/daemons/prometheus-rules.ts).

export class AppMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'app_http_requests_total', help: 'Requests answered, by route, method and status', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  private readonly duration = new Histogram({
    name: 'app_http_request_duration_seconds',
    help: 'Time to answer a request, by route and method',
    labelNames: ['route', 'method'] as const,
    // From a page served from memory to the app's 2 s database deadline and beyond.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly reads = new Counter({
    name: 'app_db_reads_total',
    help: 'Reads of posts, by the database that served them and why that one (replica, read-your-writes, fallback to the primary, primary when there is no replica)',
    labelNames: ['database', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly cache = new Counter({
    name: 'app_cache_requests_total',
    help: 'Reads of pages of posts at the cache: hit, miss, bypass (a client that has just written) or unavailable (the cache did not answer in time)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    // The process' own: CPU, memory, event-loop lag, garbage collection.
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.duration.observe({ route, method }, seconds);
  }

  read(database: string, reason: ReadReason): void {
    this.reads.inc({ database, reason });
  }

  cacheLookup(result: 'hit' | 'miss' | 'bypass' | 'unavailable'): void {
    this.cache.inc({ result });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
