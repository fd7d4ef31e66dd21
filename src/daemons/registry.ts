import type { Listener, ListenerOptions } from '../design/ports.ts';
import type { Role } from '../design/vocabulary.ts';
import { app } from './app.ts';
import { dns } from './dns.ts';
import { haproxy } from './haproxy.ts';
import { keepalived } from './keepalived.ts';
import { keepalivedDb } from './keepalived-db.ts';
import { memberCheck } from './member-check.ts';
import { mariadb } from './mariadb.ts';
import { nginx } from './nginx.ts';
import { pebble } from './pebble.ts';
import { nodeExporter } from './node-exporter.ts';
import { alertReceiver } from './alert-receiver.ts';
import { blackboxExporter } from './blackbox-exporter.ts';
import { alertmanager } from './alertmanager.ts';
import { mysqldExporter } from './mysqld-exporter.ts';
import { nginxExporter } from './nginx-exporter.ts';
import { redis } from './redis.ts';
import { redisExporter } from './redis-exporter.ts';
import { prometheus } from './prometheus.ts';
import { rsyslog } from './rsyslog.ts';
import { uptimeRelay } from './uptime-relay.ts';
import type { Daemon, RunnableDaemon } from './types.ts';

// The registry: every daemon webstack knows, one line each. Everything else (preflight, the
// install script's package list, the port table, the plan, `status`) reads it from here.
// The order is the order of a host's listeners and of its daemons in the plan.

const daemons: Daemon[] = [nodeExporter, rsyslog, dns, pebble, mariadb, memberCheck, keepalivedDb, mysqldExporter, app, nginx, nginxExporter, haproxy, keepalived, redis, redisExporter, blackboxExporter, uptimeRelay, alertReceiver, alertmanager, prometheus];

export function allDaemons(): readonly Daemon[] {
  return daemons;
}

export function runnableDaemons(): readonly RunnableDaemon[] {
  return daemons.filter((d): d is RunnableDaemon => d.render !== undefined);
}

export function daemonNamed(name: string): Daemon | undefined {
  return daemons.find((d) => d.name === name);
}

/** Adds a daemon (a test's, or a plug-in's) and returns how to take it out again. */
export function registerDaemon(daemon: Daemon): () => void {
  if (daemonNamed(daemon.name)) throw new Error(`a daemon named '${daemon.name}' is already registered`);
  daemons.push(daemon);
  return () => void daemons.splice(daemons.indexOf(daemon), 1);
}

/** Everything a host with these roles listens on, role by role, as the daemons declare it. */
export function hostListeners(roles: readonly Role[], options: ListenerOptions): Listener[] {
  return roles.flatMap((role) => daemons.flatMap((d) => d.listens(role, roles, options)));
}

/** Program → Debian package, for every program a daemon the lab runs needs, and the lab's own tools. */
export function requiredPrograms(): Readonly<Record<string, string>> {
  const lab = { ip: 'iproute2', bash: 'bash', curl: 'curl', dig: 'bind9-dnsutils', nft: 'nftables', nmap: 'nmap', testssl: 'testssl.sh' };
  return Object.assign({}, lab, ...runnableDaemons().map((d) => d.programs));
}

/** The Debian packages the lab needs, each once, sorted. */
export function requiredPackages(): string[] {
  return [...new Set(Object.values(requiredPrograms()))].sort();
}
