import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { READ_YOUR_WRITES_S } from './config.ts';
import { BODY_TOO_LARGE, MAX_BODY_BYTES } from './defaults.ts';
import { issueToken, tokenIsValid } from './csrf.ts';
import type { Lookup, PageCache } from './cache.ts';
import type { AppMetrics } from './metrics.ts';
import { renderPage } from './page.ts';
import { readReason } from './routing.ts';
import { AppBusy, DatabaseUnavailable, KeyReused, LIMITS, PrimaryUnavailable, validateNewPost, WriteOutcomeUnknown, type Post, type PostStore } from './posts.ts';

// The foobar app: the site www.foobar.com serves. Static files are nginx's job; this serves the
// page, the form and the JSON API, and nothing per user lives in the process.

export interface AppOptions {
  readonly store: PostStore;
  /** This host's name, sent as X-Served-By on every response. */
  readonly hostName: string;
  /** The release it runs, sent as X-App-Version on every response: a rolling deploy shows as it goes. */
  readonly version?: string;
  /** Shared by every app server of a stack, so any of them accepts a form another one served. */
  readonly secret: string;
  readonly siteName: string;
  /** After a write, the client reads from the primary for this long, so it sees its own write. */
  readonly readYourWritesSeconds?: number;
  /** The design's health-check path (policies.healthChecks.path); /healthz answers too. */
  readonly healthPath?: string;
  readonly logger?: Logger;
  /** Counted for Prometheus and served at /metrics; without it, /metrics is not served. */
  readonly metrics?: AppMetrics;
  /** Pages of posts, cache-aside; without it, every read goes to a database. */
  readonly cache?: PageCache;
}

const CSRF_COOKIE = 'foobar_csrf';
/** Where Prometheus scrapes the app; nginx and HAProxy refuse it from outside (only the metrics flow reaches it). */
export const METRICS_PATH = '/metrics';
/** Set on a write; while present, the client's reads prefer the primary. */
const WROTE_COOKIE = 'foobar_wrote';
/** What an idempotency key may be: a UUID, or any client's token of that shape. */
const IDEMPOTENCY_KEY = /^[\w-]{1,64}$/;
/** The version of an app server `deploy` has not replaced yet. */
export const INITIAL_VERSION = 'initial';

export function createApp(options: AppOptions): Hono {
  const { store, hostName, secret, siteName, logger, metrics, cache } = options;
  const readYourWrites = options.readYourWritesSeconds ?? READ_YOUR_WRITES_S;
  const app = new Hono();
  const HEALTH_DETAIL_HEADER = 'x-webstack-health';
  const healthPaths = [...new Set(['/healthz', options.healthPath ?? '/healthz'])];
  const justWrote = (c: Context) => getCookie(c, WROTE_COOKIE) !== undefined;
  // Behind TLS (the proxies say so in X-Forwarded-Proto), cookies are sent back over HTTPS only.
  const secure = (c: Context) => c.req.header('x-forwarded-proto') === 'https';
  const rememberWrite = (c: Context) => setCookie(c, WROTE_COOKIE, '1', { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: readYourWrites, secure: secure(c) });

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    c.header('X-Served-By', hostName);
    c.header('X-App-Version', options.version ?? INITIAL_VERSION);
    // Health probes arrive every few seconds; they would drown the log.
    const probe = healthPaths.includes(c.req.path) || c.req.path === METRICS_PATH;
    const level = probe && c.res.status === 200 ? 'debug' : 'info';
    const ms = performance.now() - started;
    // The request id the load balancer (or nginx) gave it, and the database that answered a read.
    const requestId = c.req.header('x-request-id');
    const readFrom = c.res.headers.get('X-Read-From');
    const readReason = c.res.headers.get('X-Read-Reason');
    const cacheResult = c.res.headers.get('X-Cache');
    logger?.[level]({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(ms), ...(requestId ? { requestId } : {}), ...(readFrom ? { readFrom, readReason } : {}), ...(cacheResult ? { cache: cacheResult } : {}) }, 'request');
    // Users' requests only: the load balancers' checks and Prometheus' scrapes would outnumber them.
    if (!probe) metrics?.request(c.req.routePath === '/*' ? 'unmatched' : c.req.routePath, c.req.method, c.res.status, ms / 1000);
  });
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json(BODY_TOO_LARGE, 413) }));

  // For the load balancer: this server can serve pages if some database answers reads. It reports
  // the store's last checks instead of querying, so a frozen database never slows the answer.
  for (const path of healthPaths) {
    app.get(path, (c) => {
      const health = store.health();
      const status = health.readable ? 'ok' : 'failing';
      // nginx says when the request came in on a public address: then only whether it can serve.
      const body = c.req.header(HEALTH_DETAIL_HEADER) === 'none' ? { status } : { status, host: hostName, reads: health.readable, writes: health.writable, databases: health.sources };
      return c.json(body, health.readable ? 200 : 503);
    });
  }

  if (metrics) {
    app.get(METRICS_PATH, async (c) => {
      const { contentType, body } = await metrics.text();
      return c.body(body, 200, { 'Content-Type': contentType });
    });
  }

  app.get('/', async (c) => {
    const before = pageCursor(c.req.query('before'));
    if (before === null) return c.text('"before" must be a positive whole number', 400);
    return page(c, { before, status: 200, notice: c.req.query('posted') === '1' ? 'Posted.' : undefined });
  });

  app.post('/posts', async (c) => {
    const form = await c.req.parseBody();
    if (!tokenIsValid(secret, getCookie(c, CSRF_COOKIE), form.csrf)) {
      return c.text('This form has expired or did not come from this site. Reload the page and try again.', 403);
    }
    const checked = validateNewPost({ author: form.author, body: form.body });
    if (!checked.ok) {
      const draft = { author: String(form.author ?? ''), body: String(form.body ?? '') };
      return page(c, { status: 400, errors: checked.errors, draft });
    }
    // The form's own key (made when the page was rendered): a double click or a resent form stores one post.
    const key = typeof form.key === 'string' && IDEMPOTENCY_KEY.test(form.key) ? form.key : randomUUID();
    await store.create(checked.post, key);
    await cache?.invalidate();
    rememberWrite(c);
    // Post/Redirect/Get, so that reloading the page does not post twice.
    return c.redirect('/?posted=1', 303);
  });

  app.get('/api/posts', async (c) => {
    const before = pageCursor(c.req.query('before'));
    const rawLimit = c.req.query('limit') ?? String(LIMITS.pageSize);
    // Decimal digits only: Number() would take 1e2, 0x10 and ' 5'.
    const limit = /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (before === null || !Number.isInteger(limit) || limit < 1 || limit > 100) {
      return c.json({ error: '"before" must be a positive whole number and "limit" a whole number from 1 to 100' }, 400);
    }
    const { posts } = await listPosts(c, limit + 1, before);
    const shown = posts.slice(0, limit);
    const next = posts.length > limit ? `/api/posts?before=${shown.at(-1)!.id}&limit=${limit}` : null;
    return c.json({ posts: shown, next });
  });

  // Where a new post's Location points: the post, read as a list is (its writer from the primary).
  app.get('/api/posts/:id', async (c) => {
    const id = pageCursor(c.req.param('id'));
    if (id === null || id === undefined) return c.json({ error: 'a post id is a positive whole number' }, 400);
    const preferPrimary = justWrote(c);
    const { post, readFrom } = await store.get(id, { preferPrimary });
    servedRead(c, readFrom, preferPrimary);
    return post ? c.json(post) : c.json({ error: `there is no post ${id}` }, 404);
  });

  app.post('/api/posts', async (c) => {
    if (mediaType(c.req.header('content-type')) !== 'application/json') {
      // Requiring JSON is also the API's CSRF defence: a cross-site form cannot send it without CORS.
      return c.json({ error: 'send the post as JSON, with Content-Type: application/json' }, 415);
    }
    let input: unknown;
    try {
      input = await c.req.json();
    } catch {
      return c.json({ error: 'the request body is not valid JSON' }, 400);
    }
    const sentKey = c.req.header('idempotency-key');
    if (sentKey !== undefined && !IDEMPOTENCY_KEY.test(sentKey)) return c.json({ error: 'an Idempotency-Key is 1 to 64 letters, digits, - and _' }, 400);
    const checked = validateNewPost(input);
    if (!checked.ok) return c.json({ error: 'invalid post', fields: checked.errors }, 400);
    // Without a key of the client's, the write still has one: the app's answer names it, so a retry can send it.
    const key = sentKey ?? randomUUID();
    c.header('Idempotency-Key', key);
    const { post, replayed } = await store.create(checked.post, key);
    await cache?.invalidate();
    rememberWrite(c);
    c.header('Location', `/api/posts/${post.id}`);
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(post, 201);
  });

  // A method a path does not take: 405, and which it does (HEAD comes with every GET).
  for (const [path, allowed] of Object.entries(allowedMethods(healthPaths, Boolean(metrics)))) {
    app.all(path, (c) => {
      c.header('Allow', allowed.join(', '));
      const message = `${c.req.method} is not allowed on ${c.req.path}; it takes ${allowed.join(', ')}`;
      return wantsJson(c) ? c.json({ error: message }, 405) : c.text(message, 405);
    });
  }

  app.notFound((c) => (wantsJson(c) ? c.json({ error: `no such page: ${c.req.path}` }, 404) : c.text('Not found', 404)));

  app.onError((error, c) => {
    if (error instanceof WriteOutcomeUnknown) {
      logger?.error({ err: error, path: c.req.path, key: error.key }, 'write outcome unknown');
      c.header('Retry-After', '5');
      const message = `${error.message}; retrying with the same Idempotency-Key (${error.key}) is safe: it stores the post at most once`;
      return wantsJson(c) ? c.json({ error: message, outcome: 'unknown', idempotencyKey: error.key, primary: error.host }, 504) : c.text(message, 504);
    }
    if (error instanceof KeyReused) return c.json({ error: error.message }, 422);
    if (error instanceof AppBusy) {
      // Saturated: the databases are fine, and the load balancer may well find another server free.
      logger?.warn({ path: c.req.path }, 'app server busy');
      c.header('Retry-After', '1');
      const message = `this app server (${hostName}) is busy; try again shortly`;
      return wantsJson(c) ? c.json({ error: message }, 503) : c.text(message, 503);
    }
    const unavailable = error instanceof DatabaseUnavailable || error instanceof PrimaryUnavailable;
    logger?.error({ err: error, path: c.req.path }, unavailable ? 'database unavailable' : 'request failed');
    const status = unavailable ? 503 : 500;
    const message =
      error instanceof PrimaryUnavailable
        ? `the primary database (${error.host}) is unavailable, so writes are refused until it is back; reading still works`
        : unavailable
          ? 'no database is available; try again shortly'
          : 'internal error';
    if (error instanceof PrimaryUnavailable) c.header('Retry-After', '5');
    // A refused write certainly was not stored: retrying it, with or without its key, is safe.
    return wantsJson(c) ? c.json({ error: message, ...(error instanceof PrimaryUnavailable ? { outcome: 'refused', primary: error.host } : {}) }, status) : c.text(message, status);
  });

  /**
   * A read of posts: from the cache when it has the page, else from the database the store picks.
   * A client that has just written bypasses the cache, so it reads its own write from the primary.
   * The response and the metrics say which.
   */
  /** Says which database served a read, and why that one (`trace` shows it), in the answer, the log and the metrics. */
  function servedRead(c: Context, readFrom: string, preferPrimary: boolean): void {
    const reason = readReason(store.health().sources, readFrom, preferPrimary);
    c.header('X-Read-From', readFrom);
    c.header('X-Read-Reason', reason);
    metrics?.read(readFrom, reason);
  }

  async function listPosts(c: Context, limit: number, beforeId: number | undefined): Promise<{ posts: Post[] }> {
    const preferPrimary = justWrote(c);
    let lookup: Lookup | null = null;
    if (cache) {
      lookup = preferPrimary ? null : await cache.get(`${beforeId ?? 'newest'}:${limit}`);
      const result = lookup === null ? 'bypass' : lookup.result;
      c.header('X-Cache', result === 'unavailable' ? 'miss' : result);
      metrics?.cacheLookup(result);
      if (lookup?.result === 'hit') return { posts: lookup.posts };
    }
    const result = await store.list({ limit, beforeId, preferPrimary });
    servedRead(c, result.readFrom, preferPrimary);
    if (lookup?.result === 'miss') await lookup.fill(result.posts);
    return result;
  }

  async function page(
    c: Context,
    view: { before?: number; status: 200 | 400; errors?: Record<string, string>; draft?: { author: string; body: string }; notice?: string | undefined },
  ) {
    const { posts } = await listPosts(c, LIMITS.pageSize + 1, view.before);
    const shown = posts.slice(0, LIMITS.pageSize);
    const token = issueToken(secret);
    setCookie(c, CSRF_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: secure(c) });
    c.header('Cache-Control', 'no-store');
    const html = renderPage({
      siteName,
      servedBy: hostName,
      posts: shown,
      olderThan: posts.length > LIMITS.pageSize ? shown.at(-1)!.id : undefined,
      csrfToken: token,
      formKey: randomUUID(),
      errors: view.errors,
      draft: view.draft,
      notice: view.notice,
    });
    return c.html(html, view.status);
  }

  return app;
}

/** undefined when absent, null when present but not a positive integer. */
function pageCursor(raw: string | undefined): number | undefined | null {
  if (raw === undefined) return undefined;
  return /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : null;
}

/** Each route and the methods it takes, for the 405s' Allow header. */
function allowedMethods(healthPaths: readonly string[], metrics: boolean): Record<string, string[]> {
  const read = ['GET', 'HEAD'];
  return {
    '/': read,
    '/posts': ['POST'],
    '/api/posts': [...read, 'POST'],
    '/api/posts/:id': read,
    ...Object.fromEntries(healthPaths.map((p) => [p, read])),
    ...(metrics ? { [METRICS_PATH]: read } : {}),
  };
}

/** A Content-Type's media type, without its parameters (charset=utf-8), lower-cased. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function wantsJson(c: Context): boolean {
  return c.req.path.startsWith('/api/') || (c.req.header('accept') ?? '').includes('application/json');
}
