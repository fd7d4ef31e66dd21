import { appendFileSync, readFileSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { NotificationSchema, type Received } from './notifications.ts';

// The lab's webhook receiver: `node receiver-main.ts <config.json>`, on each monitoring host's
// loopback. Alertmanager posts every notification here; each is appended, as one JSON line, to the
// stack's alerts file, which `webstack alerts` reads. It stands in for a pager or a chat channel.

interface ReceiverConfig {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly file: string;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ReceiverConfig;
const app = new Hono();
app.get('/healthz', (c) => c.text('ok\n'));
app.post('/alerts', async (c) => {
  const parsed = NotificationSchema.safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) return c.text(`not an Alertmanager notification: ${parsed.error.issues[0]?.message}\n`, 400);
  const line: Received = { receivedAt: new Date().toISOString(), via: config.host, notification: parsed.data };
  // One write of one line: the receivers of two monitoring hosts append to the same file.
  appendFileSync(config.file, JSON.stringify(line) + '\n');
  return c.text('recorded\n');
});
serve({ fetch: app.fetch, hostname: config.address, port: config.port });
