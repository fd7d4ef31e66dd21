// What a load run is asked and what it answers, apart from the generator (generator.ts), so that
// checking a request and printing a result load nothing heavy.

export interface LoadOptions {
  /** One URL, or several on the same origin, requested in turn. */
  readonly urls: readonly string[];
  readonly requests: number;
  /** Requests per second over all connections. */
  readonly rate: number;
  readonly connections: number;
  /** A request without an answer after this long counts as failed. */
  readonly timeoutS: number;
  /** Each request on a new connection (and, for HTTPS, a new TLS handshake), as with Connection: close. */
  readonly newConnections?: boolean;
  /**
   * A closed model instead: each connection sends its next request as soon as the last one was
   * answered, with no schedule (`rate` is not used). It measures how much the stack can take, the
   * way `ab -c` or `autocannon -c` do; latency is then from each request's own start.
   */
  readonly closed?: boolean;
  /** Return every request's fate too, in the order they were due: what a failover window is measured from. */
  readonly timeline?: boolean;
  /**
   * Each request a write instead: a POST of a new post (JSON) to the URL, with an idempotency key of
   * its own, so that a write is stored once however the stack retries it. 201 is its success.
   */
  readonly writes?: boolean;
}

/** One request of a run: when it was due (ms since the epoch), how long it took, and whether it failed. */
export interface Operation {
  readonly dueAt: number;
  readonly latencyMs: number;
  readonly ok: boolean;
}

export interface LoadResult {
  readonly urls: readonly string[];
  /** Every request sent, each counted once: answered, failed to connect, not HTTP, or timed out. */
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
  readonly timeline?: readonly Operation[];
}

export const LIMITS = { requests: 100_000, rate: 20_000, connections: 1_000, timeoutS: 30 } as const;
