import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApp } from '../../src/app/server.ts';
import type { Lookup, PageCache } from '../../src/app/cache.ts';
import { AppMetrics } from '../../src/app/metrics.ts';
import { escapeHtml } from '../../src/app/page.ts';
import { AppBusy, DatabaseUnavailable, KeyReused, LIMITS, PrimaryUnavailable, validateNewPost, WriteOutcomeUnknown, type NewPost, type Post, type PostStore } from '../../src/app/posts.ts';
import { readOrder, readReason, type SourceHealth } from '../../src/app/routing.ts';

// The foobar app, without a socket or a database: requests go through Hono's app.request and
// posts into an in-memory store.

/** A primary (db-primary) and a replica (db-replica) in memory; either can be down. */
class MemoryStore implements PostStore {
  posts: (Post & { key: string })[] = [];
  primaryDown = false;
  replicaDown = false;
  /** Every connection taken by other requests of this server (AppBusy). */
  busy = false;
  set down(value: boolean) {
    this.primaryDown = value;
    this.replicaDown = value;
  }
  async list({ limit, beforeId, preferPrimary }: { limit: number; beforeId?: number; preferPrimary?: boolean }) {
    if (this.busy) throw new AppBusy(new Error('no answer within 250 ms'));
    const readFrom = (preferPrimary && !this.primaryDown) || this.replicaDown ? 'db-primary' : 'db-replica';
    if (readFrom === 'db-primary' && this.primaryDown) throw new DatabaseUnavailable(new Error('connect ECONNREFUSED'));
    const newest = [...this.posts].reverse().filter((p) => beforeId === undefined || p.id < beforeId);
    return { posts: newest.slice(0, limit).map(stripKey), readFrom };
  }
  async get(id: number, { preferPrimary }: { preferPrimary?: boolean }) {
    const { readFrom } = await this.list({ limit: 1, preferPrimary });
    const found = this.posts.find((p) => p.id === id);
    return { post: found ? stripKey(found) : null, readFrom };
  }
  /** Writes reach the primary, which does not answer: their outcome is unknown to the app. */
  unanswered = false;
  async create(post: NewPost, key: string) {
    if (this.primaryDown) throw new PrimaryUnavailable('db-primary', new Error('connect ECONNREFUSED'));
    const stored = this.posts.find((p) => p.key === key);
    if (stored) {
      if (stored.author !== post.author || stored.body !== post.body) throw new KeyReused(key);
      return { post: stripKey(stored), replayed: true };
    }
    const made = { id: this.posts.length + 1, ...post, createdAt: new Date(Date.UTC(2026, 0, 1, 0, this.posts.length)).toISOString(), key };
    this.posts.push(made);
    if (this.unanswered) throw new WriteOutcomeUnknown('db-primary', key, new Error('no answer within 500 ms'));
    return { post: stripKey(made), replayed: false };
  }
  health() {
    const sources = [
      { host: 'db-primary', role: 'primary' as const, answering: !this.primaryDown, lagSeconds: null },
      { host: 'db-replica', role: 'replica' as const, answering: !this.replicaDown, lagSeconds: 0 },
    ];
    return { readable: sources.some((s) => s.answering), writable: !this.primaryDown, sources };
  }
  async close() {}
}

function stripKey({ key: _key, ...post }: Post & { key: string }): Post {
  return post;
}

function setup() {
  const store = new MemoryStore();
  const app = createApp({ store, hostName: 'web-test', secret: 'a-secret-of-sufficient-length', siteName: 'foobar.com' });
  const postJson = (body: unknown, type = 'application/json') =>
    app.request('/api/posts', { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { store, app, postJson };
}

/** Loads the page and returns its CSRF cookie and form token. */
async function formToken(app: ReturnType<typeof setup>['app']) {
  const res = await app.request('/');
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const token = /name="csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { cookie, token };
}

describe('the foobar app', () => {
  test('the API stores a valid post and answers 201 with its id, newest first in the list', async () => {
    const { postJson, app } = setup();
    const first = await postJson({ author: 'ann', body: 'one' });
    assert.equal(first.status, 201);
    assert.deepEqual({ ...(await first.json()), createdAt: undefined }, { id: 1, author: 'ann', body: 'one', createdAt: undefined });
    assert.equal(first.headers.get('location'), '/api/posts/1');
    await postJson({ author: ' bob ', body: ' two ' });
    const list = await app.request('/api/posts');
    assert.equal(list.headers.get('x-read-from'), 'db-replica');
    const json = await list.json();
    assert.deepEqual(json.posts.map((p: Post) => [p.id, p.author, p.body]), [[2, 'bob', 'two'], [1, 'ann', 'one']]);
    assert.equal(json.next, null);
  });

  test('the API pages backwards with before and limit', async () => {
    const { postJson, app } = setup();
    for (let i = 0; i < 5; i++) await postJson({ author: 'a', body: `p${i}` });
    const page1 = await (await app.request('/api/posts?limit=2')).json();
    assert.deepEqual(page1.posts.map((p: Post) => p.id), [5, 4]);
    assert.equal(page1.next, '/api/posts?before=4&limit=2');
    const page2 = await (await app.request(page1.next)).json();
    assert.deepEqual(page2.posts.map((p: Post) => p.id), [3, 2]);
    assert.equal((await app.request('/api/posts?before=abc')).status, 400);
    assert.equal((await app.request('/api/posts?limit=1000')).status, 400);
  });

  test('invalid input answers 400, 413 or 415 with a JSON error', async () => {
    const { postJson, store, app } = setup();
    const missing = await postJson({ author: '' });
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), { error: 'invalid post', fields: { author: '"author" must not be empty', body: '"body" is required and must be a string' } });
    assert.equal((await postJson('{not json')).status, 400);
    assert.equal((await postJson({ author: 'a', body: 'b' }, 'text/plain')).status, 415);
    assert.equal((await postJson({ author: 'a', body: 'x'.repeat(LIMITS.body + 1) })).status, 400);
    const huge = await app.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ author: 'a', body: 'x'.repeat(20_000) }) });
    assert.equal(huge.status, 413);
    assert.equal(store.posts.length, 0);
  });

  test("a new post's Location answers with the post; an id that is not there is a JSON 404", async () => {
    const { postJson, app } = setup();
    const created = await postJson({ author: 'ann', body: 'where am I' });
    const location = created.headers.get('location')!;
    const cookie = created.headers.get('set-cookie')!.split(';')[0]!;
    const found = await app.request(location, { headers: { cookie } });
    assert.equal(found.status, 200);
    assert.deepEqual(await found.json(), await created.json());
    assert.equal(found.headers.get('x-read-from'), 'db-primary', 'its writer reads it from the primary');
    const missing = await app.request('/api/posts/99');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: 'there is no post 99' });
    for (const bad of ['0', '1e2', '0x10', '-1', 'abc']) assert.equal((await app.request(`/api/posts/${bad}`)).status, 400, bad);
  });

  test('a method a route does not take answers 405 with the methods it does take', async () => {
    const { app } = setup();
    for (const [method, path, allow] of [
      ['PUT', '/api/posts', 'GET, HEAD, POST'],
      ['DELETE', '/api/posts/1', 'GET, HEAD'],
      ['POST', '/', 'GET, HEAD'],
      ['GET', '/posts', 'POST'],
      ['PATCH', '/healthz', 'GET, HEAD'],
    ] as const) {
      const answer = await app.request(path, { method });
      assert.equal(answer.status, 405, `${method} ${path}`);
      assert.equal(answer.headers.get('allow'), allow, `${method} ${path}`);
    }
    assert.deepEqual(await (await app.request('/api/posts', { method: 'PUT' })).json(), { error: 'PUT is not allowed on /api/posts; it takes GET, HEAD, POST' });
    assert.equal((await app.request('/api/posts', { method: 'HEAD' })).status, 200);
    assert.equal((await app.request('/nowhere', { method: 'PUT' })).status, 404, 'a path that does not exist is still a 404');
  });

  test('only application/json, with or without parameters, is JSON; limit and before take decimal digits only', async () => {
    const { postJson, app } = setup();
    assert.equal((await postJson({ author: 'a', body: 'b' }, 'application/json; charset=utf-8')).status, 201);
    assert.equal((await postJson({ author: 'a', body: 'b' }, 'Application/JSON')).status, 201);
    for (const type of ['application/jsonx', 'application/json-seq', 'text/json']) assert.equal((await postJson({ author: 'a', body: 'b' }, type)).status, 415, type);
    for (const query of ['limit=1e2', 'limit=0x10', 'limit=%205', 'limit=2.0', 'before=1e2', 'before=0x10']) assert.equal((await app.request(`/api/posts?${query}`)).status, 400, query);
    assert.equal((await app.request('/api/posts?limit=100')).status, 200);
  });

  test('control characters are refused but for newlines and tabs; a form\'s CRLF line breaks become newlines', async () => {
    for (const bad of ['nul\u0000', 'bell\u0007', 'escape \u001b[31mred', 'del\u007f', 'c1\u009b']) {
      const checked = validateNewPost({ author: 'a', body: bad });
      assert.deepEqual(checked, { ok: false, errors: { body: '"body" must not contain control characters (only newlines and tabs)' } }, JSON.stringify(bad));
    }
    assert.deepEqual(validateNewPost({ author: 'a\tb', body: 'line one\r\nline two\n\tindented' }), { ok: true, post: { author: 'a\tb', body: 'line one\nline two\n\tindented' } });
  });

  test('a write is stored once per Idempotency-Key: sent again, it answers the same 201, marked replayed; the key of another post is a 422', async () => {
    const { app, store } = setup();
    const send = (body: unknown, key?: string) => app.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }, body: JSON.stringify(body) });
    const first = await send({ author: 'ann', body: 'once' }, 'k-1');
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotency-key'), 'k-1');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await send({ author: 'ann', body: 'once' }, 'k-1');
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), await first.json());
    assert.equal(store.posts.length, 1);
    assert.equal((await send({ author: 'ann', body: 'another' }, 'k-1')).status, 422);
    assert.equal((await send({ author: 'ann', body: 'bad key' }, 'not a key!')).status, 400);
    // Without a key of its own, the client is told the one the app made, for a retry.
    assert.match((await send({ author: 'bob', body: 'keyless' })).headers.get('idempotency-key') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('a write sent and not answered is a 504 that says the outcome is unknown and that a retry with its key is safe; a refused one says refused', async () => {
    const { app, store, postJson } = setup();
    store.unanswered = true;
    const unknown = await app.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-9' }, body: JSON.stringify({ author: 'ann', body: 'in doubt' }) });
    assert.equal(unknown.status, 504);
    const said = await unknown.json();
    assert.equal(said.outcome, 'unknown');
    assert.equal(said.idempotencyKey, 'k-9');
    assert.match(said.error, /may or may not have been stored; retrying with the same Idempotency-Key \(k-9\) is safe/);
    store.unanswered = false;
    const retried = await app.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-9' }, body: JSON.stringify({ author: 'ann', body: 'in doubt' }) });
    assert.equal(retried.status, 201);
    assert.equal(store.posts.length, 1, 'stored once, though sent twice');
    store.primaryDown = true;
    const refused = await postJson({ author: 'ann', body: 'no' });
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).outcome, 'refused');
  });

  test("the form carries its own idempotency key, so a form sent twice stores one post", async () => {
    const { app, store } = setup();
    const { cookie, token } = await formToken(app);
    const key = /name="key" value="([^"]+)"/.exec(await (await app.request('/')).text())![1]!;
    const send = () => app.request('/posts', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ author: 'ann', body: 'twice', csrf: token, key }).toString() });
    assert.equal((await send()).status, 303);
    assert.equal((await send()).status, 303);
    assert.equal(store.posts.length, 1);
  });

  test('limits count characters, not UTF-16 units', () => {
    assert.equal(validateNewPost({ author: '😀'.repeat(LIMITS.author), body: 'b' }).ok, true);
    assert.equal(validateNewPost({ author: '😀'.repeat(LIMITS.author + 1), body: 'b' }).ok, false);
    assert.equal(validateNewPost(['not', 'an', 'object']).ok, false);
  });

  test('a saturated app server says it is busy, with Retry-After, and does not blame the databases', async () => {
    const { app, store } = setup();
    store.busy = true;
    const answer = await app.request('/api/posts');
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.deepEqual(await answer.json(), { error: 'this app server (web-test) is busy; try again shortly' });
    // Its health is the databases' health, which a busy server does not change.
    assert.equal((await app.request('/healthz')).status, 200);
  });

  test('every response says which release answered: initial until a deploy names one', async () => {
    assert.equal((await setup().app.request('/api/posts')).headers.get('x-app-version'), 'initial');
    const deployed = createApp({ store: new MemoryStore(), hostName: 'web-test', version: 'v2', secret: 'a-secret-of-sufficient-length', siteName: 'foobar.com' });
    assert.equal((await deployed.request('/nowhere')).headers.get('x-app-version'), 'v2');
  });

  test('every response carries X-Served-By, errors and 404s included', async () => {
    const { app, store } = setup();
    for (const path of ['/', '/api/posts', '/healthz', '/nowhere', '/api/nowhere']) {
      assert.equal((await app.request(path)).headers.get('x-served-by'), 'web-test', path);
    }
    store.down = true;
    assert.equal((await app.request('/api/posts')).headers.get('x-served-by'), 'web-test');
  });

  test('the form posts with a valid CSRF token and redirects; without one it is refused', async () => {
    const { app, store } = setup();
    const { cookie, token } = await formToken(app);
    const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      app.request('/posts', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });

    assert.equal((await form({ author: 'a', body: 'b' })).status, 403, 'no token at all');
    assert.equal((await form({ author: 'a', body: 'b', csrf: token })).status, 403, 'a field without its cookie');
    assert.equal((await form({ author: 'a', body: 'b', csrf: 'forged.token' }, { cookie: 'foobar_csrf=forged.token' })).status, 403, 'an unsigned pair');
    assert.equal(store.posts.length, 0);

    const ok = await form({ author: 'ann', body: 'by form', csrf: token }, { cookie });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/?posted=1');
    assert.equal(store.posts[0]!.body, 'by form');

    const invalid = await form({ author: 'ann', body: '', csrf: token }, { cookie });
    assert.equal(invalid.status, 400);
    assert.match(await invalid.text(), /&quot;body&quot; must not be empty/);
  });

  test('the page lists posts newest first, escapes them, pages, and links static files', async () => {
    const { app, postJson } = setup();
    for (let i = 0; i < LIMITS.pageSize + 1; i++) await postJson({ author: 'a', body: `post ${i}` });
    await postJson({ author: '<script>', body: '"quoted" & <b>bold</b>' });
    const html = await (await app.request('/')).text();
    assert.match(html, /href="\/static\/style\.css"/);
    assert.match(html, /&lt;script&gt;/);
    assert.doesNotMatch(html, /<script>/);
    assert.ok(html.indexOf('&lt;b&gt;bold') < html.indexOf('post 20'), 'newest first');
    assert.match(html, /href="\/\?before=3"/, 'a link to older posts');
    assert.doesNotMatch(html, /post 1</);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  test('healthz is ok while some database answers reads, and 503 when none does', async () => {
    const { app, store } = setup();
    const ok = await app.request('/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual({ ...(await ok.json()), databases: undefined }, { status: 'ok', host: 'web-test', reads: true, writes: true, databases: undefined });
    store.primaryDown = true;
    const readOnly = await app.request('/healthz');
    assert.equal(readOnly.status, 200, 'a server whose primary is gone still serves reads');
    assert.equal((await readOnly.json()).writes, false);
    store.down = true;
    const failing = await app.request('/healthz');
    assert.equal(failing.status, 503);
    assert.equal((await failing.json()).status, 'failing');
    assert.equal((await app.request('/')).status, 503);
  });

  test('marks its cookies Secure when the user came over HTTPS, and only then', async () => {
    const { app } = setup();
    const overTls = await app.request('/', { headers: { 'x-forwarded-proto': 'https' } });
    assert.match(overTls.headers.get('set-cookie') ?? '', /; Secure/);
    const plain = await app.request('/');
    assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /Secure/);
  });

  test('healthz asked on a public address says whether the server can serve, and nothing of its databases', async () => {
    const { app, store } = setup();
    const outside = await app.request('/healthz', { headers: { 'x-webstack-health': 'none' } });
    assert.equal(outside.status, 200);
    assert.deepEqual(await outside.json(), { status: 'ok' });
    store.down = true;
    const failing = await app.request('/healthz', { headers: { 'x-webstack-health': 'none' } });
    assert.equal(failing.status, 503);
    assert.deepEqual(await failing.json(), { status: 'failing' });
  });

  test('with the primary gone, a write answers 503 with a JSON error that says so, and reads still work', async () => {
    const { app, store, postJson } = setup();
    await postJson({ author: 'a', body: 'before' });
    store.primaryDown = true;
    const write = await postJson({ author: 'a', body: 'b' });
    assert.equal(write.status, 503);
    assert.equal(write.headers.get('retry-after'), '5');
    const error = await write.json();
    assert.equal(error.primary, 'db-primary');
    assert.match(error.error, /primary database \(db-primary\) is unavailable.*writes are refused.*reading still works/);
    const read = await app.request('/api/posts');
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('x-read-from'), 'db-replica');
    assert.equal((await read.json()).posts[0].body, 'before');
  });

  test('a client that has just written reads from the primary; others read from the replica', async () => {
    const { app, postJson } = setup();
    const write = await postJson({ author: 'a', body: 'mine' });
    const cookie = write.headers.get('set-cookie')!;
    assert.match(cookie, /^foobar_wrote=1; Max-Age=5; Path=\/; HttpOnly; SameSite=Lax$/);
    const mine = await app.request('/api/posts', { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(mine.headers.get('x-read-from'), 'db-primary');
    assert.equal((await app.request('/api/posts')).headers.get('x-read-from'), 'db-replica');
  });
});

describe('where a read goes', () => {
  const source = (host: string, role: SourceHealth['role'], answering: boolean, lagSeconds: number | null): SourceHealth => ({ host, role, answering, lagSeconds });
  const normal = { preferPrimary: false, maxLagSeconds: 1 };

  test('a replica that answers and is at most 1 s behind comes first, the primary next', () => {
    assert.deepEqual(readOrder([source('p', 'primary', true, null), source('r', 'replica', true, 0)], normal), ['r', 'p']);
    assert.deepEqual(readOrder([source('p', 'primary', true, null), source('r', 'replica', true, 1)], normal), ['r', 'p']);
  });

  test('a replica more than 1 s behind, or with its lag unknown, comes after the primary', () => {
    assert.deepEqual(readOrder([source('r', 'replica', true, 2), source('p', 'primary', true, null)], normal), ['p', 'r']);
    assert.deepEqual(readOrder([source('r', 'replica', true, null), source('p', 'primary', true, null)], normal), ['p', 'r']);
  });

  test('a client that has just written reads from the primary first', () => {
    assert.deepEqual(readOrder([source('p', 'primary', true, null), source('r', 'replica', true, 0)], { ...normal, preferPrimary: true }), ['p', 'r']);
  });

  test('sources that do not answer come last, the primary before replicas, so a read still has somewhere to go', () => {
    const order = readOrder([source('r1', 'replica', false, null), source('p', 'primary', false, null), source('r2', 'replica', true, 5)], normal);
    assert.deepEqual(order, ['r2', 'p', 'r1']);
  });

  test('of two fresh replicas the one less behind comes first, and every source appears once', () => {
    const order = readOrder([source('p', 'primary', true, null), source('r1', 'replica', true, 1), source('r2', 'replica', true, 0)], normal);
    assert.deepEqual(order, ['r2', 'r1', 'p']);
  });
});

describe('the app tells Prometheus what users asked and which database answered', () => {
  test('requests are counted by route, method and status, with their latency; health checks and scrapes are not', async () => {
    const store = new MemoryStore();
    const metrics = new AppMetrics(false);
    const app = createApp({ store, hostName: 'web-test', secret: 'a-secret-of-sufficient-length', siteName: 'foobar.com', metrics });
    for (let i = 0; i < 3; i++) assert.equal((await app.request('/api/posts')).status, 200);
    assert.equal((await app.request('/no-such-page')).status, 404);
    assert.equal((await app.request('/healthz')).status, 200);
    store.replicaDown = true;
    await app.request('/api/posts');
    const scraped = await app.request('/metrics');
    assert.equal(scraped.status, 200);
    assert.match(scraped.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const text = await scraped.text();
    assert.match(text, /^app_http_requests_total\{route="\/api\/posts",method="GET",status="200"\} 4$/m);
    assert.match(text, /^app_http_requests_total\{route="unmatched",method="GET",status="404"\} 1$/m);
    assert.doesNotMatch(text, /route="\/healthz"|route="\/metrics"/);
    assert.match(text, /^app_http_request_duration_seconds_count\{route="\/api\/posts",method="GET"\} 4$/m);
    assert.match(text, /^app_db_reads_total\{database="db-replica",reason="replica"\} 3$/m);
    assert.match(text, /^app_db_reads_total\{database="db-primary",reason="fallback"\} 1$/m);
  });

  test('a read from the primary is read-your-writes after a write, a fallback otherwise, and the only choice without replicas', () => {
    const both = [{ host: 'db-01', role: 'primary' as const }, { host: 'db-02', role: 'replica' as const }];
    assert.equal(readReason(both, 'db-02', false), 'replica');
    assert.equal(readReason(both, 'db-01', true), 'read-your-writes');
    assert.equal(readReason(both, 'db-01', false), 'fallback');
    assert.equal(readReason([both[0]!], 'db-01', false), 'primary-only');
  });

  test('without metrics, /metrics is an ordinary unknown page', async () => {
    const { app } = setup();
    assert.equal((await app.request('/metrics')).status, 404);
  });
});

/** A cache in memory, with the generation scheme of the real one, that can be told to be away. */
class MemoryCache implements PageCache {
  pages = new Map<string, Post[]>();
  generation = 0;
  away = false;
  async get(page: string): Promise<Lookup> {
    if (this.away) return { result: 'unavailable' };
    const key = `${this.generation}:${page}`;
    const posts = this.pages.get(key);
    return posts ? { result: 'hit', posts } : { result: 'miss', fill: async (p) => void this.pages.set(key, p) };
  }
  async invalidate() {
    if (!this.away) this.generation++;
  }
  async close() {}
}

describe('the cache in front of the database: cache-aside, invalidated on write, never an error', () => {
  function cached() {
    const store = new MemoryStore();
    const cache = new MemoryCache();
    const metrics = new AppMetrics(false);
    const app = createApp({ store, hostName: 'web-test', secret: 'a-secret-of-sufficient-length', siteName: 'foobar.com', metrics, cache });
    return { store, cache, metrics, app };
  }

  test('a miss reads the database and fills the cache; the next read is a hit that touches no database', async () => {
    const { app } = cached();
    const first = await app.request('/api/posts');
    assert.equal(first.headers.get('x-cache'), 'miss');
    assert.equal(first.headers.get('x-read-from'), 'db-replica');
    const second = await app.request('/api/posts');
    assert.equal(second.headers.get('x-cache'), 'hit');
    assert.equal(second.headers.get('x-read-from'), null);
    assert.deepEqual(await second.json(), await first.json());
  });

  test('a write invalidates every page, and the writer reads its own write past the cache', async () => {
    const { app } = cached();
    await app.request('/api/posts');
    const posted = await app.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ author: 'ann', body: 'hello' }) });
    assert.equal(posted.status, 201);
    const cookie = posted.headers.get('set-cookie')!.split(';')[0]!;
    const own = await app.request('/api/posts', { headers: { cookie } });
    assert.equal(own.headers.get('x-cache'), 'bypass');
    assert.equal(((await own.json()) as { posts: Post[] }).posts[0]!.body, 'hello');
    const other = await app.request('/api/posts');
    assert.equal(other.headers.get('x-cache'), 'miss', 'the page cached before the write is not read again');
    assert.equal(((await other.json()) as { posts: Post[] }).posts[0]!.body, 'hello');
  });

  test('a cache that is away is a miss: the read is served from the database, and counted', async () => {
    const { app, cache, metrics } = cached();
    cache.away = true;
    const read = await app.request('/api/posts');
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('x-cache'), 'miss');
    assert.match((await metrics.text()).body, /^app_cache_requests_total\{result="unavailable"\} 1$/m);
  });
});
