import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { RedisPageCache } from '../../src/app/cache.ts';

// The app's cache against a real Redis on loopback: the generation scheme, and a frozen cache
// costing a miss within the deadline, then nothing at all for a second.

const NO_REDIS = spawnSync('redis-server', ['--version']).error ? 'redis-server is not installed' : false;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('the cache of pages of posts, on a real Redis', { skip: NO_REDIS }, () => {
  let redis: ChildProcess;
  let port: number;
  let dir: string;
  let cache: RedisPageCache;
  const post = (id: number) => ({ id, author: 'ann', body: `post ${id}`, createdAt: '2026-11-23T00:00:00.000Z' });

  before(async () => {
    port = await freePort();
    dir = mkdtempSync(`${tmpdir()}/webstack-redis-`);
    redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', 'pw'], { stdio: 'ignore' });
    cache = new RedisPageCache({ shards: [{ host: 'cache-01', address: '127.0.0.1', port }], password: 'pw', timeoutMs: 100, ttlSeconds: 5 });
    for (let i = 0; i < 50 && (await cache.get('probe')).result === 'unavailable'; i++) await sleep(100);
  });
  after(async () => {
    await cache.close();
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a miss is filled and then hit; a write makes every page cached before it unread', async () => {
    const first = await cache.get('newest:10');
    assert.equal(first.result, 'miss');
    if (first.result === 'miss') await first.fill([post(1)]);
    const second = await cache.get('newest:10');
    assert.equal(second.result, 'hit');
    assert.deepEqual(second.result === 'hit' && second.posts, [post(1)]);
    // A reader that missed before a write, and fills after it, fills a generation nobody reads.
    await cache.invalidate();
    const racing = await cache.get('newest:10');
    assert.equal(racing.result, 'miss');
    await cache.invalidate();
    assert.equal((await cache.get('newest:10')).result, 'miss', 'the write made the page unread');
    if (racing.result === 'miss') await racing.fill([post(1)]);
    assert.equal((await cache.get('newest:10')).result, 'miss', 'what the racing reader filled is never read');
  });

  test('a frozen Redis is a miss within the deadline, and for a second after it is not asked at all', async () => {
    redis.kill('SIGSTOP');
    try {
      let started = performance.now();
      assert.equal((await cache.get('newest:10')).result, 'unavailable');
      const firstMs = performance.now() - started;
      assert.ok(firstMs < 400, `${firstMs} ms`);
      started = performance.now();
      assert.equal((await cache.get('newest:10')).result, 'unavailable');
      assert.ok(performance.now() - started < 20, 'backed off, not asked');
      await cache.invalidate();
    } finally {
      redis.kill('SIGCONT');
    }
    await sleep(1100);
    assert.notEqual((await cache.get('newest:10')).result, 'unavailable', 'asked again after the back-off');
  });

  test('with several cache hosts, keys spread over all of them, each key always on the same one', () => {
    const sharded = new RedisPageCache({ shards: ['a', 'b', 'c'].map((h, i) => ({ host: h, address: '127.0.0.1', port: port + 1000 + i })), password: 'pw', timeoutMs: 100, ttlSeconds: 5 });
    try {
      const hosts = Array.from({ length: 60 }, (_, i) => sharded.shardOf(`posts:0:${i}:10`).host);
      assert.deepEqual([...new Set(hosts)].sort(), ['a', 'b', 'c']);
      assert.equal(sharded.shardOf('posts:0:7:10').host, sharded.shardOf('posts:0:7:10').host);
    } finally {
      void sharded.close();
    }
  });
});
