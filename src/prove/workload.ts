import { existsSync } from 'node:fs';
import { promises as dns } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Capability } from '../design/vocabulary.ts';

// `prove`'s workload, run inside the client host (workload-main.ts): what users do, at a fixed
// rate (an open model: operation i is due at start + i / rate, whatever became of the others, so
// a stall shows as failures and latency, not as fewer operations). A mix of the four capabilities
// `check` reasons about: resolve the site's name, load a static file, read a post, write a post.
// Several sessions, each with its own connections and cookies, as browsers: a session that wrote
// reads its own last post back, so that read-your-writes is checked per session. Every operation
// is recorded with its outcome; nothing is retried.

export interface WorkloadOptions {
  /** The site, as users reach it: http://www.foobar.com */
  readonly base: string;
  readonly rate: number;
  /** Operations stop being sent after this long, or as soon as `stopFile` exists. */
  readonly maxDurationMs: number;
  readonly stopFile?: string;
  readonly sessions: number;
  readonly timeoutMs: number;
  /** Tells this run's writes apart (their idempotency keys start with it). */
  readonly run: string;
}

export type OperationOutcome = 'ok' | 'failed' | 'indeterminate';

export interface UserOperation {
  readonly kind: Capability;
  readonly session: number;
  /** When it was due, and when it ended (ms since the epoch). */
  readonly start: number;
  readonly end: number;
  /** `failed`: certainly without effect; `indeterminate`: a write sent and not answered, which may or may not be stored. */
  readonly outcome: OperationOutcome;
  /** The HTTP status, or null without one (no connection, timeout, not HTTP; or a name lookup). */
  readonly status: number | null;
  readonly servedBy?: string;
  readonly readFrom?: string;
  readonly cache?: string;
  /** A write's idempotency key. */
  readonly key?: string;
  /** The post written (201), or read back. */
  readonly postId?: number;
  /** A read of the session's own last acknowledged write: whether it was there (false: read-your-writes broken). */
  readonly sawOwnWrite?: boolean;
}

/** The operations' kinds, in turn: 3 static, 4 reads, 2 writes and 1 name lookup in 10. */
export const MIX: readonly Capability[] = ['static', 'read', 'write', 'read', 'static', 'read', 'write', 'read', 'static', 'resolve'];

/** Connection errors that say the request never reached the stack: a write that met one is certainly not stored. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A write's fate from its answer: stored (201), certainly not (refused, or not sent), or unknown. */
export function writeOutcome(status: number | null, errorCode: string | null): OperationOutcome {
  if (status === 201) return 'ok';
  // The app says 503 only when it did not send the write (refused); HAProxy, when no server takes it.
  if (status !== null && (status === 503 || (status >= 400 && status < 500))) return 'failed';
  if (status === null && errorCode !== null && NOT_SENT.has(errorCode)) return 'failed';
  return 'indeterminate';
}

interface Session {
  readonly agent: HttpAgent;
  cookies: Map<string, string>;
  /** The session's last acknowledged write, and when it was acknowledged. */
  lastWrite: { id: number; at: number } | null;
}

export async function runWorkload(options: WorkloadOptions): Promise<UserOperation[]> {
  const base = new URL(options.base);
  const https = base.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const sessions: Session[] = Array.from({ length: options.sessions }, () => ({
    agent: https ? new HttpsAgent({ keepAlive: true, maxSockets: 6, rejectUnauthorized: false }) : new HttpAgent({ keepAlive: true, maxSockets: 6 }),
    cookies: new Map(),
    lastWrite: null,
  }));
  const epoch = Date.now() - performance.now();
  const at = (t: number) => Math.round(epoch + t);

  const http = (session: Session, method: 'GET' | 'POST', path: string, body: string | null, extra: Record<string, string>, dueAt: number) =>
    new Promise<{ status: number | null; headers: IncomingMessage['headers']; body: string; errorCode: string | null }>((resolve) => {
      let settled = false;
      const finish = (result: { status: number | null; headers: IncomingMessage['headers']; body: string; errorCode: string | null }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const cookie = [...session.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const headers: Record<string, string> = { ...extra, ...(cookie ? { cookie } : {}), ...(body !== null ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) };
      const req = send(new URL(path, base), { agent: session.agent, method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair] = line.split(';');
            const eq = pair!.indexOf('=');
            if (eq > 0) session.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
          }
          finish({ status: res.statusCode ?? null, headers: res.headers, body: text, errorCode: null });
        });
        res.on('error', () => finish({ status: null, headers: {}, body: '', errorCode: 'ERESPONSE' }));
      });
      // The deadline runs from when the operation was due, as its latency does.
      const timer = setTimeout(() => {
        finish({ status: null, headers: {}, body: '', errorCode: 'ETIMEDOUT' });
        req.destroy();
      }, Math.max(0, dueAt + options.timeoutMs - performance.now()));
      req.on('error', (error: NodeJS.ErrnoException) => finish({ status: null, headers: {}, body: '', errorCode: error.code ?? 'ERROR' }));
      req.end(body ?? undefined);
    });

  const seen = (headers: IncomingMessage['headers']) => ({
    ...(typeof headers['x-served-by'] === 'string' ? { servedBy: headers['x-served-by'] } : {}),
    ...(typeof headers['x-read-from'] === 'string' ? { readFrom: headers['x-read-from'] } : {}),
    ...(typeof headers['x-cache'] === 'string' ? { cache: headers['x-cache'] } : {}),
  });

  const operate = async (i: number, dueAt: number): Promise<UserOperation> => {
    const kind = MIX[i % MIX.length]!;
    // Each session goes through the whole mix in turn, so that every one writes and reads.
    const index = Math.floor(i / MIX.length) % sessions.length;
    const session = sessions[index]!;
    // A timer may fire a little early: an operation never ends before it was due.
    const done = (rest: Omit<UserOperation, 'kind' | 'session' | 'start' | 'end'>): UserOperation => ({ kind, session: index, start: at(dueAt), end: at(Math.max(dueAt, performance.now())), ...rest });
    if (kind === 'resolve') {
      const answer = await Promise.race([dns.resolve4(base.hostname).catch(() => [] as string[]), new Promise<string[]>((r) => setTimeout(() => r([]), Math.max(0, dueAt + options.timeoutMs - performance.now())))]);
      return done({ outcome: answer.length > 0 ? 'ok' : 'failed', status: null });
    }
    if (kind === 'static') {
      const r = await http(session, 'GET', '/static/style.css', null, {}, dueAt);
      return done({ outcome: r.status === 200 ? 'ok' : 'failed', status: r.status, ...seen(r.headers) });
    }
    if (kind === 'write') {
      const key = `${options.run}-${i}`;
      const r = await http(session, 'POST', '/api/posts', JSON.stringify({ author: 'prove', body: `write ${i} of ${options.run}` }), { 'idempotency-key': key }, dueAt);
      const outcome = writeOutcome(r.status, r.errorCode);
      const id = outcome === 'ok' ? postId(r.body) : null;
      if (id !== null) session.lastWrite = { id, at: performance.now() };
      return done({ outcome, status: r.status, key, ...(id !== null ? { postId: id } : {}), ...seen(r.headers) });
    }
    // A read: the session's own last write when it has one (read-your-writes), else the latest posts.
    const own = session.lastWrite && session.lastWrite.at <= dueAt ? session.lastWrite.id : null;
    const r = await http(session, 'GET', own !== null ? `/api/posts/${own}` : '/api/posts?limit=10', null, {}, dueAt);
    const ok = r.status === 200 || (own !== null && r.status === 404);
    return done({ outcome: ok ? 'ok' : 'failed', status: r.status, ...(own !== null ? { postId: own, ...(ok ? { sawOwnWrite: r.status === 200 } : {}) } : {}), ...seen(r.headers) });
  };

  const started = performance.now();
  const intervalMs = 1000 / options.rate;
  const pending: Promise<UserOperation>[] = [];
  for (let i = 0; ; i++) {
    if (i * intervalMs >= options.maxDurationMs) break;
    const dueAt = started + i * intervalMs;
    // The stop file is looked for ten times a second, not before every operation.
    if (options.stopFile && i % Math.max(1, Math.round(options.rate / 10)) === 0 && existsSync(options.stopFile)) break;
    const wait = dueAt - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(operate(i, dueAt));
  }
  const operations = await Promise.all(pending);
  for (const s of sessions) s.agent.destroy();
  return operations;
}

function postId(body: string): number | null {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'number' ? id : null;
  } catch {
    return null;
  }
}
