// The one vocabulary of webstack: roles, capabilities and finding categories.
// Types, CLI output and docs all take their words from here.

export const ROLES = ['lb', 'web', 'app', 'db-primary', 'db-replica', 'db', 'cache', 'monitoring', 'dns'] as const;
export type Role = (typeof ROLES)[number];

/** The roles that run a database: a primary and its replicas, or the members of a Galera cluster. */
export const DATABASE_ROLES: readonly Role[] = ['db-primary', 'db-replica', 'db'];
export const isDatabaseRole = (role: Role): boolean => DATABASE_ROLES.includes(role);

/** The internet user: never declared, always there, on the public network. */
export const CLIENT = 'client';

export const ROLE_TITLES: Record<Role, string> = {
  lb: 'load balancer (HAProxy)',
  web: 'web server (nginx)',
  app: 'application server',
  'db-primary': 'database primary (MariaDB)',
  'db-replica': 'database replica (MariaDB)',
  db: 'database cluster member (MariaDB Galera)',
  cache: 'cache (Redis)',
  monitoring: 'monitoring (Prometheus)',
  dns: 'authoritative DNS',
};

/** What a user of the site can do; each is analysed on its own. */
export const CAPABILITIES = ['resolve', 'static', 'read', 'write'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const CAPABILITY_TITLES: Record<Capability, string> = {
  resolve: 'resolve the name',
  static: 'load a static page',
  read: 'read data',
  write: 'write data',
};

export const FINDING_CATEGORIES = ['spof', 'durability', 'failover', 'security', 'monitoring', 'maintenance', 'capacity'] as const;
export type FindingCategory = (typeof FINDING_CATEGORIES)[number];

export const CATEGORY_TITLES: Record<FindingCategory, string> = {
  spof: 'Single points of failure',
  durability: 'Durability',
  failover: 'Failover',
  security: 'Security',
  monitoring: 'Monitoring',
  maintenance: 'Maintenance',
  capacity: 'Capacity',
};

/** How a count of findings is said: [one, many]. */
export const CATEGORY_NOUNS: Record<FindingCategory, readonly [string, string]> = {
  spof: ['single point of failure', 'single points of failure'],
  durability: ['way to lose data', 'ways to lose data'],
  failover: ['slow or partial failover', 'slow or partial failovers'],
  security: ['security gap', 'security gaps'],
  monitoring: ['monitoring gap', 'monitoring gaps'],
  maintenance: ['maintenance downtime', 'maintenance downtimes'],
  capacity: ['capacity limit', 'capacity limits'],
};

export const LB_ALGORITHMS = ['roundrobin', 'leastconn'] as const;
export const REPLICATION_MODES = ['async', 'semi-sync', 'galera'] as const;
/** Where TLS ends: at the public entry, or at every hop behind it too. */
export const TLS_MODES = ['edge', 'end-to-end'] as const;
export const FAILOVER_MODES = ['manual', 'automatic'] as const;
