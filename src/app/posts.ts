// A post, and the rules for a new one: shared by the HTML form and the JSON API.

export interface Post {
  readonly id: number;
  readonly author: string;
  readonly body: string;
  readonly createdAt: string;
}

export interface NewPost {
  readonly author: string;
  readonly body: string;
}

export const LIMITS = { author: 40, body: 500, pageSize: 20 } as const;

export type Validation = { ok: true; post: NewPost } | { ok: false; errors: Record<string, string> };

/** Checks untrusted input (any JSON value or form fields) and returns a clean post or every error at once. */
export function validateNewPost(input: unknown): Validation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: { post: 'expected an object with "author" and "body"' } };
  }
  const fields = input as Record<string, unknown>;
  const errors: Record<string, string> = {};
  const author = text(fields.author, 'author', LIMITS.author, errors);
  const body = text(fields.body, 'body', LIMITS.body, errors);
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, post: { author, body } };
}

/** C0 and C1 controls and DEL, but for tab and newline. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

function text(value: unknown, field: string, max: number, errors: Record<string, string>): string {
  if (typeof value !== 'string') {
    errors[field] = `"${field}" is required and must be a string`;
    return '';
  }
  // A browser's form sends line breaks as CRLF: they are kept as newlines.
  const trimmed = value.replace(/\r\n?/g, '\n').trim();
  if (trimmed.length === 0) errors[field] = `"${field}" must not be empty`;
  // NUL, BEL, ANSI escapes and the like would be stored and written into the page and terminals.
  else if (CONTROL_CHARACTERS.test(trimmed)) errors[field] = `"${field}" must not contain control characters (only newlines and tabs)`;
  // Count code points, not UTF-16 units, so the limit means what a writer sees.
  else if ([...trimmed].length > max) errors[field] = `"${field}" has at most ${max} characters`;
  return trimmed;
}

/** How the store's databases are doing, as its last checks saw them (no query of its own). */
export interface StoreHealth {
  /** Some database answers, so reads can be served. */
  readonly readable: boolean;
  /** The primary answers, so writes can be served. */
  readonly writable: boolean;
  readonly sources: readonly { readonly host: string; readonly role: 'primary' | 'replica'; readonly answering: boolean; readonly lagSeconds: number | null }[];
}

/** Where posts live; the app reads and writes only through this. */
export interface PostStore {
  /**
   * Newest first; `beforeId` pages backwards; `preferPrimary` for a client that has just written.
   * Resolves with the posts and the host that answered.
   */
  list(options: { limit: number; beforeId?: number; preferPrimary?: boolean }): Promise<{ posts: Post[]; readFrom: string }>;
  /** One post by its id (null when there is none), read as `list` reads. */
  get(id: number, options: { preferPrimary?: boolean }): Promise<{ post: Post | null; readFrom: string }>;
  /**
   * Stores a post once per idempotency key: a key already stored with the same post answers that
   * post again (`replayed`). Throws PrimaryUnavailable when the write certainly was not made,
   * WriteOutcomeUnknown when it was sent and not answered in time, KeyReused for a key of another post.
   */
  create(post: NewPost, key: string): Promise<{ post: Post; replayed: boolean }>;
  health(): StoreHealth;
  close(): Promise<void>;
}

/** No database could serve a read in time. */
export class DatabaseUnavailable extends Error {
  constructor(
    cause: unknown,
    /** Whether the statement had been sent when it failed: then it may have run. */
    readonly sent = false,
  ) {
    super('the database is unavailable', { cause });
    this.name = 'DatabaseUnavailable';
  }
}

/**
 * This app server is saturated: every connection to the database is busy with other requests, and
 * none came free in time. The database is not at fault, and is not marked as such.
 */
export class AppBusy extends Error {
  constructor(cause: unknown) {
    super('this app server is busy: no database connection came free in time', { cause });
    this.name = 'AppBusy';
  }
}

/**
 * A write was sent and no answer came in time: it may or may not have been stored. Its statement
 * carries a deadline the database checks itself, so it can never take effect later than that; a
 * retry with the same idempotency key is safe and tells which.
 */
export class WriteOutcomeUnknown extends Error {
  constructor(
    readonly host: string,
    readonly key: string,
    cause: unknown,
  ) {
    super(`the primary database (${host}) did not answer in time: the write may or may not have been stored`, { cause });
    this.name = 'WriteOutcomeUnknown';
  }
}

/** An idempotency key already names another post: the client reused it for different content. */
export class KeyReused extends Error {
  constructor(readonly key: string) {
    super(`the Idempotency-Key ${key} was already used for another post`);
    this.name = 'KeyReused';
  }
}

/** The primary, the one database that takes writes, certainly did not take this one (it was never made, or refused). */
export class PrimaryUnavailable extends Error {
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    super(`the primary database (${host}) is unavailable`, { cause });
    this.name = 'PrimaryUnavailable';
  }
}
