import { join } from 'node:path';
import { PORTS } from '../design/ports.ts';
import { netnsEtc, type DaemonPaths } from '../plan/paths.ts';
import type { LabHost, Topology } from '../plan/topology.ts';
import { header, type DaemonContext, type RunnableDaemon } from './types.ts';

// Pebble, Let's Encrypt's ACME test server, as the lab's certificate authority: it runs on a host
// the lab adds on the internet side, and really validates each order (DNS-01, asking the stack's
// authoritative DNS server). Its root is new at each start, so each time it is ready its root is
// fetched and added to what the client host trusts.

export const ACME_PORT = 14000;
export const ACME_MANAGEMENT_PORT = 15000;

/** Where the lab's ACME directory is, for the ACME clients of the load balancers. */
export function acmeDirectory(acme: LabHost): string {
  return `https://${Object.values(acme.addresses)[0]}:${ACME_PORT}/dir`;
}

/** Pebble's own HTTPS certificate, which the ACME clients trust to talk to it. */
export function acmeServerCertificate(paths: DaemonPaths): string {
  return join(paths.run, 'server-cert.pem');
}

/** The authoritative server of the stack's zone, as the internet reaches it. */
export function authoritativeServer(topology: Topology): string {
  const server = topology.hosts.find((h) => h.roles.includes('dns'));
  if (!server) throw new Error('a stack with TLS needs a DNS server for DNS-01 validation');
  return Object.values(server.addresses)[0]!;
}

/** The CA bundle the client host's programs read, in the client's own /etc (ip netns exec mounts it over /etc/ssl). */
export function clientTrustFile(topology: Topology): string {
  const client = topology.hosts.find((h) => h.kind === 'client')!;
  return join(netnsEtc(client.namespace), 'ssl', 'certs', 'ca-certificates.crt');
}

/** The lab's root certificates, for a browser on this machine. */
export function labRootsFile(context: Pick<DaemonContext, 'paths'>): string {
  return join(context.paths.run, 'lab-roots.pem');
}

export const pebble: RunnableDaemon = {
  name: 'pebble',
  title: "Pebble, the lab's ACME certificate authority",
  programs: { pebble: 'pebble', openssl: 'openssl', curl: 'curl' },
  listens: () => [],
  runsOn: (host) => host.kind === 'acme',
  after: ['dns'],
  render(context) {
    const { paths, host, topology } = context;
    const address = Object.values(host.addresses)[0]!;
    const configFile = join(paths.config, 'pebble.json');
    const cert = acmeServerCertificate(paths);
    const key = join(paths.run, 'server-key.pem');
    const rootsScript = join(paths.config, 'roots.sh');
    const trust = clientTrustFile(topology);
    const config = {
      pebble: {
        listenAddress: `${address}:${ACME_PORT}`,
        managementListenAddress: `${address}:${ACME_MANAGEMENT_PORT}`,
        certificate: cert,
        privateKey: key,
        httpPort: PORTS.http,
        tlsPort: PORTS.https,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    };
    // Each start of Pebble makes a new root: every root seen is kept, so certificates issued before
    // a restart still verify, and the client's bundle is all of them.
    const roots = `#!/bin/bash
${header('#', context, 'pebble')}set -euo pipefail
mkdir -p ${join(paths.run, 'roots')} ${join(trust, '..')}
root=$(curl --silent --show-error --fail --max-time 5 --cacert ${cert} https://${address}:${ACME_MANAGEMENT_PORT}/roots/0)
printf '%s\\n' "$root" > ${join(paths.run, 'roots', 'new.pem')}
id=$(openssl x509 -noout -fingerprint -sha256 -in ${join(paths.run, 'roots', 'new.pem')} | tr -dc 'A-F0-9')
mv ${join(paths.run, 'roots', 'new.pem')} ${join(paths.run, 'roots')}/"$id".pem
cat ${join(paths.run, 'roots')}/*.pem > ${labRootsFile(context)}
cp ${labRootsFile(context)} ${trust}
`;
    return {
      daemon: 'pebble',
      host: host.name,
      namespace: host.namespace,
      after: pebble.after,
      command: ['pebble', '-config', configFile, '-dnsserver', `${authoritativeServer(topology)}:${PORTS.dns}`],
      // No sleep before validating, and no nonce rejected on purpose: the lab's CA is strict, not flaky.
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      files: [
        { path: configFile, content: `${JSON.stringify(config, null, 2)}\n`, mode: 0o644 },
        { path: rootsScript, content: roots, mode: 0o700 },
        // Without its own openssl.cnf the client's OpenSSL would find none once /etc/ssl is its own.
        { path: join(trust, '..', '..', 'openssl.cnf'), content: "# webstack: OpenSSL's defaults, for the lab's client host\n", mode: 0o644 },
      ],
      dirs: [{ path: paths.run }, { path: join(paths.run, 'roots') }, { path: join(trust, '..') }],
      copies: [],
      init: {
        command: ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '825', '-subj', `/CN=${host.name} (webstack lab ACME server)`, '-addext', `subjectAltName=IP:${address}`, '-keyout', key, '-out', cert],
        creates: cert,
      },
      setup: { command: ['bash', rootsScript], timeoutMs: 15_000 },
      readiness: { kind: 'tcp', address, port: ACME_PORT },
      readinessTimeoutMs: 15_000,
      log: paths.log,
    };
  },
};
