import { createPool, type Pool, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { NewPost, Post, PostStore } from './posts.ts';
import { DatabaseUnavailable } from './server.ts';

// Posts in MariaDB. The app owns its schema: migrations run at start, under a lock, so several
// app servers starting at once migrate exactly once.

export interface DatabaseEndpoint {
  /** The database host's name, reported as X-Read-From. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

export interface DatabaseSettings {
  readonly primary: DatabaseEndpoint;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** A frozen database must cost an error, not a hung request. */
  readonly timeoutMs: number;
}

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE posts (
     id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
     author VARCHAR(40) NOT NULL,
     body VARCHAR(500) NOT NULL,
     created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
   ) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci`,
];

interface PostRow extends RowDataPacket {
  id: number;
  author: string;
  body: string;
  created_at: Date;
}

export class MariaDbStore implements PostStore {
  private readonly pool: Pool;

  constructor(private readonly settings: DatabaseSettings) {
    this.pool = createPool(poolOptions(settings, settings.primary));
  }

  async migrate(): Promise<number> {
    const connection = await this.pool.getConnection();
    try {
      await connection.query('SELECT GET_LOCK(?, 30)', ['foobar_migrate']);
      await connection.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)');
      const [rows] = await connection.query<RowDataPacket[]>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
      const current = Number(rows[0]!.version);
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

  async list(options: { limit: number; beforeId?: number }): Promise<{ posts: Post[]; readFrom: string }> {
    const where = options.beforeId === undefined ? '' : 'WHERE id < ?';
    const params = options.beforeId === undefined ? [options.limit] : [options.beforeId, options.limit];
    const rows = await this.run<PostRow[]>(`SELECT id, author, body, created_at FROM posts ${where} ORDER BY id DESC LIMIT ?`, params);
    return { posts: rows.map(toPost), readFrom: this.settings.primary.host };
  }

  async create(post: NewPost): Promise<Post> {
    const result = await this.run<ResultSetHeader>('INSERT INTO posts (author, body) VALUES (?, ?)', [post.author, post.body]);
    const [row] = await this.run<PostRow[]>('SELECT id, author, body, created_at FROM posts WHERE id = ?', [result.insertId]);
    return toPost(row!);
  }

  async ping(): Promise<string> {
    await this.run('SELECT 1', []);
    return this.settings.primary.host;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async run<T extends RowDataPacket[] | ResultSetHeader>(sql: string, params: unknown[]): Promise<T> {
    try {
      const [result] = await this.pool.query<T>({ sql, timeout: this.settings.timeoutMs }, params);
      return result;
    } catch (error) {
      throw isUnavailable(error) ? new DatabaseUnavailable(error) : error;
    }
  }
}

function poolOptions(settings: DatabaseSettings, endpoint: DatabaseEndpoint): PoolOptions {
  return {
    host: endpoint.address,
    port: endpoint.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    connectTimeout: settings.timeoutMs,
    connectionLimit: 10,
    enableKeepAlive: true,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
  };
}

function toPost(row: PostRow): Post {
  return { id: Number(row.id), author: row.author, body: row.body, createdAt: new Date(row.created_at).toISOString() };
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN']);

function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; fatal?: boolean };
  return Boolean(e && (e.fatal || (e.code && CONNECTION_ERRORS.has(e.code))));
}
