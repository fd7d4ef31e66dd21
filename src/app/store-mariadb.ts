import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { AppBusy, DatabaseUnavailable, KeyReused, PrimaryUnavailable, WriteOutcomeUnknown, type NewPost, type Post, type PostStore, type StoreHealth } from './posts.ts';
import { readOrder, type SourceHealth } from './routing.ts';

// Posts in MariaDB, split between a primary (every write) and its replicas (reads, see
// routing.ts). A monitor checks every database twice a second: whether it answers, and how far
// each replica lags, so that requests go where an answer is likely rather than discover it.
// Without a cluster, the primary is whichever server is writable (read_only off): after
// `webstack promote`, writes follow the promoted replica with no restart and no new config.
// Every call has a deadline and a connection that misses it is destroyed, so a frozen database
// costs a fallback, not a hung request. The app owns its schema: migrations run on the primary at
// start, under a lock, so several app servers starting at once migrate exactly once.

export interface DatabaseEndpoint {
  /** The database host's name, reported as X-Read-From. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

export interface DatabaseSettings {
  readonly primary: DatabaseEndpoint;
  readonly replicas: readonly DatabaseEndpoint[];
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Each database call's deadline. */
  readonly timeoutMs: number;
  /** A replica further behind than this serves no reads while the primary answers. */
  readonly maxLagSeconds: number;
  /** Connect over TLS only, verifying each server's certificate (its name or address) against this CA. */
  readonly tlsCa?: string;
  /** A Galera cluster: the primary is its write address, and a member is fresh while it is synced in the primary component. */
  readonly cluster?: 'galera';
}

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE posts (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     author VARCHAR(40) NOT NULL,
     body VARCHAR(500) NOT NULL,
     created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
   ) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`,
  // Each write's idempotency key, once: a retried write finds its post instead of storing another.
  `ALTER TABLE posts ADD COLUMN idempotency_key VARCHAR(64) NULL, ADD UNIQUE KEY posts_idempotency_key (idempotency_key)`,
];

const MONITOR_EVERY_MS = 500;
/** How often a write that met a read-only primary looks for the writable one. */
const WRITER_POLL_MS = 50;
/** Connections to each database per app server. */
const POOL_SIZE = 10;

interface PostRow extends RowDataPacket {
  id: number;
  author: string;
  body: string;
  created_at: Date;
}

interface Source {
  readonly endpoint: DatabaseEndpoint;
  readonly pool: Pool;
  answering: boolean;
  /** Whether it takes writes (read_only off), at its last check; null before the first, and in a cluster. */
  writable: boolean | null;
  lagSeconds: number | null;
  tlsCipher: string | null;
  /** Connections of its pool this server's requests hold now: at POOL_SIZE, a new request waits for one. */
  inUse: number;
}

export class MariaDbStore implements PostStore {
  private readonly sources: Source[];
  /** Where writes go: the write address of a cluster, else the writable server (sources[0] until one is found). */
  private primary: Source;
  private monitoring = false;
  private monitorTimer: NodeJS.Timeout | null = null;
  /** One round of checks under way, which writes that met a read-only server wait on together. */
  private round: Promise<void> | null = null;

  constructor(private readonly settings: DatabaseSettings) {
    const source = (endpoint: DatabaseEndpoint): Source => ({ endpoint, pool: createPool(poolOptions(settings, endpoint)), answering: true, writable: null, lagSeconds: null, tlsCipher: null, inUse: 0 });
    this.sources = [settings.primary, ...settings.replicas].map(source);
    this.primary = this.sources[0]!;
  }

  private roleOf(source: Source): SourceHealth['role'] {
    return source === this.primary ? 'primary' : 'replica';
  }

  /** Checks every database now and then every MONITOR_EVERY_MS, until close(). */
  startMonitoring(): void {
    this.monitoring = true;
    const loop = async () => {
      await this.checkAll();
      if (this.monitoring) this.monitorTimer = setTimeout(() => void loop(), MONITOR_EVERY_MS);
    };
    void loop();
  }

  /** Every database checked once, and the writable one made the primary; concurrent callers share the round. */
  private checkAll(): Promise<void> {
    this.round ??= Promise.all(this.sources.map((s) => this.check(s))).then(() => {
      this.round = null;
      if (!this.settings.cluster) this.primary = this.sources[chooseWriter(this.sources, this.sources.indexOf(this.primary))]!;
    });
    return this.round;
  }

  /**
   * After the primary refused a write as read-only (a switchover under way): checks the servers
   * until one is writable or the deadline is near. Whether a writable primary was found.
   */
  private async awaitWriter(deadline: number): Promise<boolean> {
    for (;;) {
      await this.checkAll();
      if (this.primary.writable) return true;
      if (Date.now() + WRITER_POLL_MS > deadline) return false;
      await sleep(WRITER_POLL_MS);
    }
  }

  /** Brings the primary's schema up to date; returns how many migrations ran. */
  async migrate(): Promise<number> {
    // Find the writable server first: the migrations are writes.
    if (!this.settings.cluster) await this.checkAll();
    const connection = await this.primary.pool.getConnection();
    try {
      await connection.query('SELECT GET_LOCK(?, 30)', ['foobar_migrate']);
      await connection.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)');
      const current = await schemaVersion(connection);
      for (let version = current + 1; version <= MIGRATIONS.length; version++) {
        await connection.query(MIGRATIONS[version - 1]!);
        await connection.query('INSERT INTO schema_migrations (version) VALUES (?)', [version]);
      }
      return MIGRATIONS.length - current;
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', ['foobar_migrate']).catch(() => undefined);
      connection.release();
    }
  }

  /** With the primary away, a replica that already has the current schema lets reads start anyway. */
  async replicaHasSchema(): Promise<boolean> {
    for (const replica of this.sources.filter((s) => this.roleOf(s) === 'replica')) {
      try {
        const rows = await this.run<RowDataPacket[]>(replica, 'SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations', []);
        if (Number(rows[0]!.version) >= MIGRATIONS.length) return true;
      } catch {
        // Not this one.
      }
    }
    return false;
  }

  async list(options: { limit: number; beforeId?: number; preferPrimary?: boolean }): Promise<{ posts: Post[]; readFrom: string }> {
    const where = options.beforeId === undefined ? '' : 'WHERE id < ?';
    const params = options.beforeId === undefined ? [options.limit] : [options.beforeId, options.limit];
    const { rows, readFrom } = await this.read(`SELECT id, author, body, created_at FROM posts ${where} ORDER BY id DESC LIMIT ?`, params, options.preferPrimary ?? false);
    return { posts: rows.map(toPost), readFrom };
  }

  async get(id: number, options: { preferPrimary?: boolean }): Promise<{ post: Post | null; readFrom: string }> {
    const sql = 'SELECT id, author, body, created_at FROM posts WHERE id = ?';
    const found = await this.read(sql, [id], options.preferPrimary ?? false);
    // A replica may not have a post written a moment ago (or, cut off from the primary, for longer
    // than it knows): only the primary's word makes it a 404. Without it the post may well exist,
    // and its writer must not be told otherwise: the database is unavailable for this read.
    if (found.rows.length === 0 && found.readFrom !== this.primary.endpoint.host) {
      const rows = await this.run<PostRow[]>(this.primary, sql, [id]);
      return { post: rows[0] ? toPost(rows[0]) : null, readFrom: this.primary.endpoint.host };
    }
    return { post: found.rows[0] ? toPost(found.rows[0]) : null, readFrom: found.readFrom };
  }

  /** A read, from the databases in the order routing.ts gives, falling back down the list. */
  private async read(sql: string, params: unknown[], preferPrimary: boolean): Promise<{ rows: PostRow[]; readFrom: string }> {
    const order = readOrder(this.health().sources, { preferPrimary, maxLagSeconds: this.settings.maxLagSeconds });
    let lastError: unknown = null;
    for (const host of order) {
      const source = this.sources.find((s) => s.endpoint.host === host)!;
      try {
        return { rows: await this.run<PostRow[]>(source, sql, params), readFrom: host };
      } catch (error) {
        if (error instanceof AppBusy) {
          // Its connections are all taken by this server's other requests: the next database may have one free.
          lastError ??= error;
          continue;
        }
        if (!(error instanceof DatabaseUnavailable)) throw error;
        source.answering = false;
        lastError = error;
      }
    }
    // Every database was only busy for this server: it is saturated, not the databases down.
    throw lastError instanceof AppBusy ? lastError : new DatabaseUnavailable(lastError);
  }

  /**
   * One INSERT that carries its own deadline, checked by the database's clock when it runs: sent
   * to a frozen or cut-off primary, it cannot take effect once the app has given up on it. With the
   * idempotency key unique, a write is stored at most once however often it is sent.
   */
  async create(post: NewPost, key: string): Promise<{ post: Post; replayed: boolean }> {
    const deadline = Date.now() + this.settings.timeoutMs;
    for (;;) {
      const primary = this.primary;
      try {
        return await this.insert(primary, post, key, deadline);
      } catch (error) {
        // Read-only: a switchover is under way, and the statement certainly did nothing. Once a
        // writable server is found, the write goes there, within the same deadline.
        if (!(error instanceof DatabaseUnavailable) || !isReadOnly(error.cause)) throw error;
        primary.writable = false;
        if (Date.now() < deadline && (await this.awaitWriter(deadline))) continue;
        throw new PrimaryUnavailable(primary.endpoint.host, error);
      }
    }
  }

  private async insert(primary: Source, post: NewPost, key: string, deadline: number): Promise<{ post: Post; replayed: boolean }> {
    const host = primary.endpoint.host;
    try {
      const rows = await this.run<PostRow[]>(
        primary,
        'INSERT INTO posts (author, body, idempotency_key) SELECT ?, ?, ? FROM DUAL WHERE UTC_TIMESTAMP(3) < ? RETURNING id, author, body, created_at',
        [post.author, post.body, key, sqlTimestamp(deadline)],
      );
      if (rows.length === 0) throw new PrimaryUnavailable(host, new Error('the primary began the write after its deadline, so it did not make it'));
      return { post: toPost(rows[0]!), replayed: false };
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') return this.replay(post, key);
      if (!(error instanceof DatabaseUnavailable)) throw error;
      if (isReadOnly(error.cause)) throw error;
      primary.answering = false;
      if (!error.sent) throw new PrimaryUnavailable(host, error);
      // Sent, and no answer. Once the deadline has passed, a post stored under the key says the
      // write was made. Its absence proves nothing: a statement that began in time may still be
      // waiting to commit (for the cluster, or a semi-sync replica), so the outcome stays unknown
      // and the client, told its key, sends the write again to find out.
      await sleep(Math.max(0, deadline - Date.now() + 1));
      const stored = await this.byKey(key).catch(() => null);
      if (!stored) throw new WriteOutcomeUnknown(host, key, error);
      return { post: stored, replayed: false };
    }
  }

  /** A key seen before: the same post again, or a key reused for another one. */
  private async replay(post: NewPost, key: string): Promise<{ post: Post; replayed: boolean }> {
    const stored = await this.byKey(key);
    if (stored && stored.author === post.author && stored.body === post.body) return { post: stored, replayed: true };
    throw new KeyReused(key);
  }

  /** The post stored with this key, from the primary; null when there is none. */
  private async byKey(key: string): Promise<Post | null> {
    const rows = await this.run<PostRow[]>(this.primary, 'SELECT id, author, body, created_at FROM posts WHERE idempotency_key = ?', [key]);
    return rows[0] ? toPost(rows[0]) : null;
  }

  health(): StoreHealth {
    const sources: SourceHealth[] = this.sources.map((s) => ({ host: s.endpoint.host, role: this.roleOf(s), answering: s.answering, lagSeconds: s.lagSeconds, tlsCipher: s.tlsCipher }));
    return { readable: sources.some((s) => s.answering), writable: this.primary.answering && this.primary.writable !== false, sources };
  }

  async close(): Promise<void> {
    this.monitoring = false;
    if (this.monitorTimer) clearTimeout(this.monitorTimer);
    await Promise.all(this.sources.map((s) => s.pool.end().catch(() => undefined)));
  }

  private async check(source: Source): Promise<void> {
    try {
      // The session's TLS cipher is the liveness query too: it answers, and says how we are connected.
      const tls = await this.run<RowDataPacket[]>(source, "SHOW SESSION STATUS LIKE 'Ssl_cipher'", []);
      source.tlsCipher = (tls[0]?.Value as string | undefined) || null;
      if (!this.settings.cluster) {
        const [mode] = await this.run<RowDataPacket[]>(source, 'SELECT @@global.read_only AS readOnly', []);
        source.writable = Number(mode!.readOnly) === 0;
      }
      if (this.roleOf(source) === 'replica' && this.settings.cluster === 'galera') {
        // A member serves current data while it is synced in the primary component; reads from it
        // are as fresh as a replica with no lag (a session that just wrote reads from the writer).
        const rows = await this.run<RowDataPacket[]>(source, "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_local_state_comment')", []);
        const status = Object.fromEntries(rows.map((r) => [r.Variable_name as string, r.Value as string]));
        source.lagSeconds = status.wsrep_cluster_status === 'Primary' && status.wsrep_local_state_comment === 'Synced' ? 0 : null;
      } else if (!this.settings.cluster && !source.writable) {
        const rows = await this.run<RowDataPacket[]>(source, 'SHOW SLAVE STATUS', []);
        const lag = rows[0]?.Seconds_Behind_Master;
        source.lagSeconds = lag === null || lag === undefined ? null : Number(lag);
      }
      source.answering = true;
    } catch (error) {
      // A saturated server could not even start the check: that says nothing about the database.
      if (error instanceof AppBusy) return;
      source.answering = false;
      source.lagSeconds = null;
    }
  }

  /**
   * One call on one database, within the deadline; a connection that misses it or breaks is
   * destroyed. Waiting for a free connection of the pool is this server's own saturation, not the
   * database's failure (AppBusy); the query itself has the whole deadline from when it is sent.
   * Worst case: 1.5 deadlines a database.
   */
  private async run<T extends RowDataPacket[] | ResultSetHeader>(source: Source, sql: string, params: unknown[]): Promise<T> {
    let connection: PoolConnection;
    const saturated = source.inUse >= POOL_SIZE;
    try {
      const pending = source.pool.getConnection();
      // Half the deadline to get a connection, so that a read that tries two databases stays
      // within the load balancer's server timeout. If the deadline wins, the connection may still
      // come later: hand it back then.
      connection = await withDeadline(pending, this.settings.timeoutMs / 2, (late) => late.release());
    } catch (error) {
      // Every connection was held by this server's other requests and none came free: its own
      // load. A connection that could not be made: the database's.
      if (error instanceof DeadlineMissed && saturated) throw new AppBusy(error);
      throw new DatabaseUnavailable(error);
    }
    source.inUse++;
    try {
      const [result] = await withDeadline(connection.query<T>(sql, params), this.settings.timeoutMs);
      connection.release();
      return result;
    } catch (error) {
      if (isRefused(error)) {
        connection.destroy();
        throw new DatabaseUnavailable(error, false);
      }
      if (error instanceof DeadlineMissed || isUnavailable(error)) {
        connection.destroy();
        throw new DatabaseUnavailable(error, true);
      }
      connection.release();
      throw error;
    } finally {
      source.inUse--;
    }
  }
}

async function schemaVersion(connection: PoolConnection): Promise<number> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
  return Number(rows[0]!.version);
}

class DeadlineMissed extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineMissed';
  }
}

/**
 * The promise's value, or DeadlineMissed after `ms`. A busy event loop runs timers late, and an
 * answer that arrived in time may still wait to be read: the deadline first lets the loop read
 * what is waiting (setImmediate runs after the I/O phase), so a late loop is not taken for a late database.
 */
function withDeadline<T>(promise: Promise<T>, ms: number, onLate?: (value: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new DeadlineMissed(ms));
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return onLate?.(value);
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function poolOptions(settings: DatabaseSettings, endpoint: DatabaseEndpoint): PoolOptions {
  return {
    host: endpoint.address,
    port: endpoint.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    connectTimeout: settings.timeoutMs,
    connectionLimit: POOL_SIZE,
    enableKeepAlive: true,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    ...(settings.tlsCa ? { ssl: { ca: readFileSync(settings.tlsCa, 'utf8'), rejectUnauthorized: true } } : {}),
  };
}

/** A time as MariaDB's DATETIME(3) literal, in UTC (the pool's time zone). */
function sqlTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function toPost(row: PostRow): Post {
  return { id: Number(row.id), author: row.author, body: row.body, createdAt: new Date(row.created_at).toISOString() };
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // A Galera member that lost the cluster while it committed: the others may have the transaction or not.
  'ER_ERROR_DURING_COMMIT',
  'ER_QUERY_INTERRUPTED',
]);

/** Answers that say the statement took no effect: the database refused it, certainly. */
const REFUSALS = new Set([
  // A server that is read-only: a replica, or a primary being switched over by `promote`.
  'ER_OPTION_PREVENTS_STATEMENT',
  // A Galera member outside the primary component: "WSREP has not yet prepared node for application use".
  'ER_UNKNOWN_COM_ERROR',
  // A Galera transaction aborted, and rolled back, by a conflicting one or a change of the cluster's view while it committed.
  'ER_LOCK_DEADLOCK',
]);

function isRefused(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code !== undefined && REFUSALS.has(code);
}

function isReadOnly(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ER_OPTION_PREVENTS_STATEMENT';
}

/**
 * Which server takes the writes, by index: the current one while it answers and is writable (two
 * writable servers, for a moment during a switchover, never make writes flap), else the first
 * that is, else still the current one (no server is writable: writes are refused).
 */
export function chooseWriter(sources: readonly Pick<Source, 'answering' | 'writable'>[], current: number): number {
  const ok = (s: Pick<Source, 'answering' | 'writable'>) => s.answering && s.writable === true;
  if (ok(sources[current]!)) return current;
  const found = sources.findIndex(ok);
  return found === -1 ? current : found;
}

function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; fatal?: boolean };
  return Boolean(e && (e.fatal || (e.code && CONNECTION_ERRORS.has(e.code))));
}
