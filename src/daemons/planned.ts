import { PORTS } from '../design/ports.ts';
import type { Role } from '../design/vocabulary.ts';
import { listener, type Daemon } from './types.ts';

// Daemons the design already asks for and `check` already counts (their ports are part of the
// flows and the security analysis), but the lab does not run yet: facts only, no render. When one
// is built, it moves to a module of its own with a render(), and `up` stops naming it as missing.

function planned(name: string, title: string, port: number, kind: 'monitoring' | 'cache', serves: (role: Role, roles: readonly Role[], monitored: boolean, alerting: boolean) => boolean): Daemon {
  return {
    name,
    title,
    programs: {},
    listens: (role, roles, { monitored, alerting }) => (serves(role, roles, monitored, alerting) ? [listener(name, role, port, kind)] : []),
    runsOn: (host, design) => {
      const monitored = design.hosts.find((h) => h.name === host.name)?.monitored ?? false;
      return host.roles.some((role) => serves(role, host.roles, monitored, design.policies.monitoring.alerting));
    },
    after: [],
  };
}

export const redis = planned('redis', 'Redis, the cache', PORTS.redis, 'cache', (role) => role === 'cache');
export const redisExporter = planned('redis-exporter', 'the Redis metrics exporter', PORTS.redisExporter, 'monitoring', (role, _r, monitored) => monitored && role === 'cache');
