import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// CSRF protection without server-side state (the app is stateless, and any server may get the
// next request): a signed double-submit token. The cookie and the form field must carry the same
// token, and its signature proves that one of our servers issued it, with the stack's shared secret.

export function issueToken(secret: string): string {
  const nonce = randomBytes(16).toString('base64url');
  return `${nonce}.${sign(secret, nonce)}`;
}

export function tokenIsValid(secret: string, cookie: string | undefined, field: unknown): boolean {
  if (typeof cookie !== 'string' || typeof field !== 'string' || !sameText(cookie, field)) return false;
  const [nonce, signature, ...rest] = cookie.split('.');
  if (!nonce || !signature || rest.length > 0) return false;
  return sameText(signature, sign(secret, nonce));
}

function sign(secret: string, nonce: string): string {
  return createHmac('sha256', secret).update(nonce).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
