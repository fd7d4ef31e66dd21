import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { readAppConfig } from './config.ts';
import { RedisPageCache } from './cache.ts';
import { appLogger } from './logger.ts';
import { AppMetrics } from './metrics.ts';
import { createApp } from './server.ts';
import { MariaDbStore } from './store-mariadb.ts';

// The foobar app server's entry point: `node --import tsx src/app/main.ts <config.json>`.

const configPath = process.argv[2];
if (!configPath) {
  pino().fatal('usage: main.ts <config.json>');
  process.exit(2);
}
const config = readAppConfig(configPath);
const logger = appLogger(config.syslog);
const store = new MariaDbStore(config.database);

// The primary may still be starting (or be down): keep trying; the supervisor's readiness probe
// waits for /healthz anyway. With the primary down, a replica that has the schema is enough to
// serve reads; writes answer 503 until the primary is back.
for (let attempt = 1; ; attempt++) {
  try {
    const applied = await store.migrate();
    logger.info({ applied }, 'schema migrated');
    break;
  } catch (error) {
    if (attempt >= 10 && (await store.replicaHasSchema())) {
      logger.warn({ err: (error as Error).message }, 'the primary is not answering; serving reads from a replica');
      break;
    }
    if (attempt % 10 === 1) logger.warn({ err: (error as Error).message, attempt }, 'database not ready; retrying');
    await sleep(500);
  }
}
store.startMonitoring();

const metrics = new AppMetrics();
const cache = config.cache ? new RedisPageCache(config.cache) : undefined;
const app = createApp({ store, hostName: config.host, version: config.version, secret: config.secret, siteName: config.siteName, readYourWritesSeconds: config.readYourWritesSeconds, healthPath: config.healthPath, logger, metrics, cache });
// With TLS end to end, HTTPS only, with the host's certificate from the stack's CA.
const tls = config.tls ? { createServer: createHttpsServer, serverOptions: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {};
const server = serve({ fetch: app.fetch, hostname: config.listen, port: config.port, ...tls }, (info) =>
  logger.info({ address: info.address, port: info.port, tls: Boolean(config.tls) }, 'listening'),
) as Server;
server.keepAliveTimeout = config.keepAliveTimeoutMs;
server.headersTimeout = config.keepAliveTimeoutMs + 1000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing requests in flight');
  const deadline = setTimeout(() => process.exit(1), 10_000);
  deadline.unref();
  server.close(async () => {
    await store.close().catch(() => undefined);
    await cache?.close();
    logger.info('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
