import { join } from 'node:path';
import type { RenderedFile } from '../daemons/types.ts';
import { tlsEndToEnd } from '../design/ports.ts';
import { isDatabaseRole } from '../design/vocabulary.ts';
import type { ResolvedStack } from '../design/types.ts';
import type { StackPaths } from './paths.ts';
import type { LabHost, Topology } from './topology.ts';

// The stack's own certificate authority, for TLS behind the load balancers (policies.tls:
// { mode: end-to-end }): openssl, run on the machine before any daemon starts. The CA and each
// host's certificate live in the stack's volumes, so they outlive `down` and are never made again
// by a restart; a host's certificate is made again only when its names change.

/** The CA certificate every client of an internal hop verifies against. */
export function internalCaFile(paths: StackPaths): string {
  return join(paths.volumes, 'ca', 'ca.pem');
}

/** A host's certificate and key, for every internal service it runs (nginx's HTTPS, MariaDB). */
export function hostCertificate(paths: StackPaths, host: string): { readonly cert: string; readonly key: string } {
  return { cert: join(paths.volumes, host, 'tls', 'cert.pem'), key: join(paths.volumes, host, 'tls', 'key.pem') };
}

export function endToEnd(design: ResolvedStack): boolean {
  return tlsEndToEnd(design.policies);
}

/**
 * Whether a host's app server speaks HTTPS: with TLS end to end, webstack's own app does when
 * anything reaches it over a network. A design's own app command speaks what it speaks.
 */
export function appServesTls(design: ResolvedStack, host: string): boolean {
  return endToEnd(design) && design.app.command === null && design.flows.some((f) => f.to === host && f.toRole === 'app' && f.network !== null);
}

/** The name every app server's certificate carries, so that nginx verifies any of them as one upstream. */
export const APP_SERVICE_NAME = 'app';

/** Hosts that serve an internal hop over TLS: nginx behind a load balancer, the app servers, the databases and the caches. */
function servers(design: ResolvedStack, wiring: Topology): LabHost[] {
  return wiring.hosts.filter((h) => h.kind === 'design' && (h.roles.some((r) => r === 'web' || isDatabaseRole(r) || r === 'cache') || appServesTls(design, h.name)));
}

export interface InternalCa {
  readonly script: RenderedFile;
  /** Run on the machine: makes what is missing, and nothing else. */
  readonly run: readonly string[];
}

export function internalCaPlan(design: ResolvedStack, wiring: Topology, paths: StackPaths): InternalCa | null {
  if (!endToEnd(design)) return null;
  const ca = internalCaFile(paths);
  const caKey = join(paths.volumes, 'ca', 'ca.key');
  const path = join(paths.config, 'internal-ca.sh');
  const leaves = servers(design, wiring).map((h) => {
    // Names a peer may use: the host's name, each of its addresses, and loopback for its own
    // clients (MariaDB requires TLS of every TCP connection, a local app's included).
    const service = appServesTls(design, h.name) ? [`DNS:${APP_SERVICE_NAME}`] : [];
    // A virtual IP it may hold (a database cluster's write address) is a name its clients use too.
    const held = design.virtualIps.filter((v) => v.holders.includes(h.name)).map((v) => v.address);
    const sans = [`DNS:${h.name}`, ...service, ...[...Object.values(h.addresses), ...held].map((a) => `IP:${a}`), 'IP:127.0.0.1'].join(',');
    const { cert, key } = hostCertificate(paths, h.name);
    // MariaDB reads its key as the mysql user.
    const group = h.roles.some(isDatabaseRole) ? 'mysql' : 'root';
    return `leaf ${h.name} '${sans}' ${cert} ${key} ${group}`;
  });
  const content = `#!/bin/bash
# Rendered by webstack for stack ${wiring.stack}: its internal CA and its hosts' certificates.
# Makes only what is missing (or a host's certificate whose names changed): keys are never replaced by a restart.
set -euo pipefail
# Keys are made unreadable to others; directories are made readable, since MariaDB reads its
# certificate and the CA's as the mysql user.
umask 077
dirs() { (umask 022; mkdir -p "$@"); }
if [ ! -e ${ca} ]; then
  dirs ${join(paths.volumes, 'ca')}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=webstack ${wiring.stack} internal CA" -keyout ${caKey} -out ${ca} 2>/dev/null
  chmod 644 ${ca}
fi
leaf() {
  local host=$1 sans=$2 cert=$3 key=$4 group=$5 dir
  dir=$(dirname "$cert")
  if [ -e "$cert" ] && [ "$(cat "$dir/names" 2>/dev/null)" = "$sans" ]; then return; fi
  dirs "$dir"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" -addext "subjectAltName=$sans" -keyout "$key" -out "$dir/request.csr" 2>/dev/null
  openssl x509 -req -in "$dir/request.csr" -CA ${ca} -CAkey ${caKey} -CAcreateserial -CAserial ${join(paths.volumes, 'ca', 'serial')} -days 825 -copy_extensions copyall -out "$cert" 2>/dev/null
  printf '%s' "$sans" > "$dir/names"
  chmod 644 "$cert"; chgrp "$group" "$key"; chmod 640 "$key"
}
${leaves.join('\n')}
`;
  return { script: { path, content, mode: 0o700 }, run: ['bash', path] };
}
