import type { Capability, Role, TLS_MODES } from './vocabulary.ts';

// The resolved design: fully defaulted, every address allocated, every flow derived.
// Everything after resolve() reads only this shape, and it is deeply frozen.

export interface ResolvedNetwork {
  readonly name: string;
  readonly cidr: string;
  readonly exposure: 'public' | 'private';
  /** The address the machine itself takes on this network (public networks only reach it). */
  readonly gateway: string;
}

export interface ResolvedHost {
  readonly name: string;
  readonly roles: readonly Role[];
  /** network name → address */
  readonly addresses: Readonly<Record<string, string>>;
  readonly monitored: boolean;
  readonly firewall: boolean;
  readonly availability: number;
}

export interface VirtualIp {
  readonly address: string;
  readonly network: string;
  readonly role: Role;
  /** The hosts that hold it, first one preferred (keepalived priority order). */
  readonly holders: readonly string[];
}

export interface ResolvedRecord {
  readonly name: string;
  readonly fqdn: string;
  readonly type: 'A';
  readonly ttl: number;
  readonly addresses: readonly string[];
  /** The hosts behind the addresses. */
  readonly hosts: readonly string[];
  /** How a client survives the loss of one target: a shared VIP, several A records, or not at all. */
  readonly redundancy: 'virtual-ip' | 'multiple-records' | 'none';
}

export type FlowPurpose = 'http' | 'https' | 'proxy' | 'app' | 'sql-write' | 'sql-read' | 'replication' | 'galera' | 'cache' | 'metrics' | 'logs' | 'dns' | 'vrrp' | 'alert-cluster';

/** Who talks to whom, on which port. The single source for the analysis and for firewall rules. */
export interface Flow {
  readonly from: string;
  readonly fromRole: Role | 'client';
  readonly to: string;
  readonly toRole: Role;
  /** The network the packets cross; null when both ends are on the same host. */
  readonly network: string | null;
  readonly protocol: 'tcp' | 'udp' | 'vrrp';
  /** 0 for protocols without ports (VRRP). */
  readonly port: number;
  readonly purpose: FlowPurpose;
}

/** A receiver of the design's own, besides the lab's (policies.monitoring.notify). */
export type Notify = { readonly kind: 'webhook'; readonly url: string } | { readonly kind: 'email'; readonly to: string; readonly from: string; readonly smtp: string };

export interface ResolvedPolicies {
  readonly tls: boolean;
  /** With tls: 'edge' ends it at the public entry; 'end-to-end' encrypts every hop behind it too. */
  readonly tlsMode: (typeof TLS_MODES)[number];
  readonly firewall: boolean;
  readonly lb: { readonly algorithm: 'roundrobin' | 'leastconn' };
  readonly healthChecks: { readonly enabled: boolean; readonly path: string; readonly intervalMs: number; readonly fall: number; readonly rise: number };
  readonly db: {
    readonly replication: 'async' | 'semi-sync' | 'galera';
    /** With semi-sync: how long a commit waits for a replica's acknowledgement before the primary goes on asynchronously. */
    readonly semiSyncTimeoutMs: number;
    readonly failover: 'manual' | 'automatic';
  };
  readonly monitoring: { readonly uptimeCheck: boolean; readonly alerting: boolean; readonly notify: readonly Notify[] };
  readonly availability: number;
}

export interface ResolvedStack {
  readonly stack: string;
  readonly domain: string;
  readonly description: string;
  readonly networks: readonly ResolvedNetwork[];
  readonly hosts: readonly ResolvedHost[];
  /** The internet user, implicit in every design. */
  readonly client: { readonly name: 'client'; readonly addresses: Readonly<Record<string, string>> };
  readonly virtualIps: readonly VirtualIp[];
  /** 'managed' when the domain's DNS lives outside the stack (no host with role dns). */
  readonly dns: { readonly mode: 'managed' | 'own'; readonly ttl: number; readonly hosts: readonly string[] };
  readonly records: readonly ResolvedRecord[];
  /** The record users type: `www` when there is one. */
  readonly entry: string;
  readonly policies: ResolvedPolicies;
  /** The application server: webstack's foobar app (command null) or the design's own command. */
  readonly app: { readonly command: readonly string[] | null; readonly port: number };
  readonly flows: readonly Flow[];
}

export type { Capability, Role };
