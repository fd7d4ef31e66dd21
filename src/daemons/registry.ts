import { app } from './app.ts';
import { dns } from './dns.ts';
import { haproxy } from './haproxy.ts';
import { mariadb } from './mariadb.ts';
import { nginx } from './nginx.ts';
import type { Daemon } from './types.ts';

/** Every daemon webstack can run, in start order. Adding one means adding a module here. */
export const DAEMONS: readonly Daemon[] = [dns, mariadb, app, nginx, haproxy];
