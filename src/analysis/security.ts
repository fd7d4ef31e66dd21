import { hostListeners } from '../daemons/registry.ts';
import type { ResolvedStack } from '../design/types.ts';
import { CLIENT } from '../design/vocabulary.ts';
import { finding, listing, type Finding } from './finding.ts';

// Security gaps, read off the flows: what the client can reach that it should not,
// and what crosses the public network in plain text.

export function securityFindings(stack: ResolvedStack): Finding[] {
  const findings: Finding[] = [];
  const p = stack.policies;
  const entry = stack.records.find((r) => r.name === stack.entry);
  const entryHosts = entry?.hosts ?? [];

  if (!p.tls) {
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: entryHosts,
        message: `the public entry (${entry?.fqdn ?? stack.domain}) serves plain HTTP: no TLS on ${listing(entryHosts)}`,
        fix: 'set policies.tls: true to terminate TLS at the public entry (HTTP then only redirects to HTTPS)',
      }),
    );
  }
  if (!p.firewall) {
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: stack.hosts.map((h) => h.name),
        message: 'no firewall: every port of every host is open to every network it is on',
        fix: 'set policies.firewall: true, so that each host accepts only the flows the design derives',
      }),
    );
  }

  // A port is reachable from the public network when its host has a public address and
  // either no firewall stands in front of it or a flow from the client lets it through.
  const publicNetworks = new Set(stack.networks.filter((n) => n.exposure === 'public').map((n) => n.name));
  for (const host of stack.hosts) {
    if (!Object.keys(host.addresses).some((n) => publicNetworks.has(n))) continue;
    const allowed = new Set(stack.flows.filter((f) => f.from === CLIENT && f.to === host.name).map((f) => `${f.protocol}/${f.port}`));
    const listeners = hostListeners(host.roles, { tls: p.tls, monitored: host.monitored, alerting: p.monitoring.alerting, appPort: stack.app.port });
    const exposed = listeners.filter((l) => l.kind !== 'entry' && l.kind !== 'dns' && (!host.firewall || allowed.has(`${l.protocol}/${l.port}`)));
    if (exposed.length === 0) continue;
    const ports = [...new Map(exposed.map((l) => [l.port, `${l.kind} port ${l.port} (${l.daemon})`])).values()];
    findings.push(
      finding(stack, {
        category: 'security',
        capability: null,
        hosts: [host.name],
        message: `${listing(ports)} on ${host.name} ${ports.length === 1 ? 'is' : 'are'} reachable from the public network`,
        fix: host.firewall
          ? 'remove the flow that exposes it'
          : `set policies.firewall: true, so that ${host.name} accepts from the public network only what the client needs`,
      }),
    );
  }
  return findings;
}
