import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Post } from './posts.ts';

// Cache-aside for pages of posts, in Redis. A read asks the cache first and fills it on a miss; a
// write bumps a generation number, so every page cached before it is never read again (and a
// reader that filled a page from the database just before the write fills an old generation:
// no stale page can outlive a write that reached the cache). The cache is only ever an
// optimisation: every call has a short deadline, and a dead or frozen cache costs a miss, then a
// second of not asking it, never an error.
// With several cache hosts, keys are spread over them by hash (client-side sharding): losing one
// costs the misses of its keys, with no failover machinery, which a cache does not need.

export type CacheResult = 'hit' | 'miss' | 'bypass';

export interface CacheSettings {
  readonly shards: readonly { readonly host: string; readonly address: string; readonly port: number }[];
  readonly password: string;
  /** With TLS end to end: the stack's CA. */
  readonly tlsCa?: string;
  readonly timeoutMs: number;
  readonly ttlSeconds: number;
}

export type Lookup = { readonly result: 'hit'; readonly posts: Post[] } | { readonly result: 'miss'; fill(posts: Post[]): Promise<void> } | { readonly result: 'unavailable' };

export interface PageCache {
  /** On a miss, `fill` stores what the database answered, under the generation read before it. */
  get(page: string): Promise<Lookup>;
  /** Called after a write; failures are swallowed (the page expires after its TTL). */
  invalidate(): Promise<void>;
  close(): Promise<void>;
}

const GENERATION = 'posts:generation';
/** After a failed call, how long the app reads without asking that cache host. */
const BACKOFF_MS = 1000;

interface Shard {
  readonly host: string;
  readonly client: Redis;
  downUntil: number;
}

export class RedisPageCache implements PageCache {
  private readonly shards: Shard[];

  constructor(private readonly settings: CacheSettings) {
    const ca = settings.tlsCa ? readFileSync(settings.tlsCa) : undefined;
    this.shards = settings.shards.map((s) => ({
      host: s.host,
      downUntil: 0,
      client: new Redis({
        host: s.address,
        port: s.port,
        password: settings.password,
        ...(ca ? { tls: { ca } } : {}),
        connectTimeout: settings.timeoutMs * 2,
        commandTimeout: settings.timeoutMs,
        // Fail at once while disconnected, rather than queue and wait.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => BACKOFF_MS,
        lazyConnect: false,
      }),
    }));
    // A cache that is away is a miss; its errors are not the app's.
    for (const shard of this.shards) shard.client.on('error', () => undefined);
  }

  /** The host that holds a key. */
  shardOf(key: string): Shard {
    const hash = createHash('sha1').update(key).digest().readUInt32BE(0);
    return this.shards[hash % this.shards.length]!;
  }

  private async call<T>(key: string, fn: (client: Redis) => Promise<T>): Promise<T | undefined> {
    const shard = this.shardOf(key);
    if (Date.now() < shard.downUntil) return undefined;
    try {
      return await fn(shard.client);
    } catch {
      shard.downUntil = Date.now() + BACKOFF_MS;
      return undefined;
    }
  }

  private async generation(): Promise<string | undefined> {
    const value = await this.call(GENERATION, (c) => c.get(GENERATION));
    return value === undefined ? undefined : (value ?? '0');
  }

  async get(page: string): Promise<Lookup> {
    const generation = await this.generation();
    if (generation === undefined) return { result: 'unavailable' };
    const key = `posts:${generation}:${page}`;
    const cached = await this.call(key, (c) => c.get(key));
    if (cached === undefined) return { result: 'unavailable' };
    if (cached !== null) return { result: 'hit', posts: JSON.parse(cached) as Post[] };
    // Filled under the generation read before the database was: a write in between makes it unread.
    return { result: 'miss', fill: async (posts) => void (await this.call(key, (c) => c.set(key, JSON.stringify(posts), 'EX', this.settings.ttlSeconds))) };
  }

  async invalidate(): Promise<void> {
    await this.call(GENERATION, (c) => c.incr(GENERATION));
  }

  async close(): Promise<void> {
    for (const shard of this.shards) shard.client.disconnect();
  }
}
