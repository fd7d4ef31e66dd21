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

function text(value: unknown, field: string, max: number, errors: Record<string, string>): string {
  if (typeof value !== 'string') {
    errors[field] = `"${field}" is required and must be a string`;
    return '';
  }
  const trimmed = value.trim();
  if (trimmed.length === 0) errors[field] = `"${field}" must not be empty`;
  // Count code points, not UTF-16 units, so the limit means what a writer sees.
  else if ([...trimmed].length > max) errors[field] = `"${field}" has at most ${max} characters`;
  return trimmed;
}

/** Where posts live; the app reads and writes only through this. */
export interface PostStore {
  /** Newest first; `beforeId` pages backwards. Resolves with the posts and the host that answered. */
  list(options: { limit: number; beforeId?: number }): Promise<{ posts: Post[]; readFrom: string }>;
  create(post: NewPost): Promise<Post>;
  /** Throws when the database cannot answer. Resolves with the host's name. */
  ping(): Promise<string>;
  close(): Promise<void>;
}
