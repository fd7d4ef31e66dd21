import { readFileSync } from 'node:fs';
import { z } from 'zod';

// What an app server is told at start: one JSON file, written by webstack's renderer (0600, since
// it holds the database password and the stack's secret).

export { READ_YOUR_WRITES_S } from './defaults.ts';

const Endpoint = z.strictObject({ host: z.string(), address: z.string(), port: z.number().int() });

export const AppConfigSchema = z.strictObject({
  host: z.string().min(1),
  listen: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  siteName: z.string().min(1),
  secret: z.string().min(16),
  database: z.strictObject({
    /**
     * Where writes go. Without a cluster, where they go first: the app writes to whichever server
     * is writable (read_only off), which after `webstack promote` is one of `replicas`.
     */
    primary: Endpoint,
    /** Where reads go first; empty when the design has no replica. */
    replicas: z.array(Endpoint),
    user: z.string(),
    password: z.string(),
    database: z.string(),
    timeoutMs: z.number().int().positive(),
    maxLagSeconds: z.number().nonnegative(),
    /** With TLS end to end: connect over TLS only, verifying the servers against this CA (a PEM file). */
    tlsCa: z.string().optional(),
    /** A Galera cluster: `primary` is its write address, `replicas` its members, fresh while synced. */
    cluster: z.literal('galera').optional(),
  }),
  /** After a write, the client's reads go to the primary for this long. */
  readYourWritesSeconds: z.number().int().positive(),
  /** Where the load balancer checks this server's health: the design's policies.healthChecks.path. */
  healthPath: z.string().startsWith('/').default('/healthz'),
  /** The release `deploy` rolled onto this host (X-App-Version); absent for the stack as `up` made it. */
  version: z.string().min(1).optional(),
  /** Longer than the proxy's idle timeout, so the proxy, not the app, closes idle connections. */
  keepAliveTimeoutMs: z.number().int().positive(),
  /** With TLS end to end: serve HTTPS only, with this certificate and key (PEM files). */
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  /** The cache hosts (Redis), when the design has a cache. */
  cache: z
    .strictObject({
      shards: z.array(Endpoint).min(1),
      password: z.string(),
      tlsCa: z.string().optional(),
      timeoutMs: z.number().int().positive(),
      ttlSeconds: z.number().int().positive(),
    })
    .optional(),
  /** Where its request log also goes, over syslog (UDP): rsyslog on each monitoring host. */
  syslog: z.array(z.strictObject({ address: z.string(), port: z.number().int() })).default([]),
});

export type AppConfig = z.infer<typeof AppConfigSchema>;

export function readAppConfig(path: string): AppConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the app's config ${path}: ${(error as Error).message}`);
  }
  const parsed = AppConfigSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`the app's config ${path} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
