import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Target } from '../lab/target.ts';
import { dashboardApp } from './app.ts';
import { liveBackend } from './live.ts';

// `webstack dashboard`: the API (app.ts) on the live backend (live.ts), served by Node on one
// address, with a fresh random token each time.

export interface ServeOptions {
  readonly home: string;
  readonly stack: string;
  readonly target: Target;
  readonly port: number;
  readonly address: string;
}

export async function serveDashboard(options: ServeOptions): Promise<{ url: string; token: string; close(): Promise<void> }> {
  const token = randomBytes(24).toString('base64url');
  const backend = liveBackend(options);
  const app = dashboardApp(backend, token);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.address }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  return {
    url: `http://${host}:${port}/?token=${token}`,
    token,
    async close() {
      await backend.close();
      // Open event streams would hold the server open: they are closed with it.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
