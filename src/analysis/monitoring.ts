import type { ResolvedStack } from '../design/types.ts';
import type { Role } from '../design/vocabulary.ts';
import { finding, hostsWith, listing, type Finding } from './finding.ts';

// What the stack would not notice: hosts nobody scrapes, an entry nobody probes,
// failures nobody is told about.

/** Roles on the way of a user's request: a monitor that shares a host with one fails with it. */
const REQUEST_PATH: readonly Role[] = ['dns', 'lb', 'web', 'app', 'db-primary', 'db-replica', 'db', 'cache'];

export function monitoringFindings(stack: ResolvedStack): Finding[] {
  const monitors = hostsWith(stack, 'monitoring');
  const p = stack.policies.monitoring;
  const entry = stack.records.find((r) => r.name === stack.entry);
  const url = `${stack.policies.tls ? 'https' : 'http'}://${entry?.fqdn ?? stack.domain}/`;
  if (monitors.length === 0) {
    return [
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: stack.hosts.map((h) => h.name),
        message: `nothing monitors the stack: no metrics, no uptime check of ${url}, no alerting; failures go unnoticed until users report them`,
        fix: 'add a host with role monitoring, and set policies.monitoring.uptimeCheck and alerting to true',
      }),
    ];
  }
  const findings: Finding[] = [];
  for (const monitor of stack.hosts.filter((h) => h.roles.includes('monitoring'))) {
    const shared = monitor.roles.filter((r) => REQUEST_PATH.includes(r));
    if (shared.length === 0) continue;
    findings.push(
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: [monitor.name],
        message: `${monitor.name} watches the stack and is also its ${listing(shared)}: it goes down exactly when it is needed, and checks run from inside the stack cannot see what users see`,
        fix: `run monitoring on a host of its own, not ${listing(shared)}`,
      }),
    );
  }
  const unmonitored = stack.hosts.filter((h) => !h.monitored).map((h) => h.name);
  if (unmonitored.length > 0) {
    findings.push(
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: unmonitored,
        message: `${listing(unmonitored)} ${unmonitored.length === 1 ? 'is' : 'are'} not monitored`,
        fix: 'remove monitored: false from those hosts',
      }),
    );
  }
  if (!p.uptimeCheck) {
    findings.push(
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: entry?.hosts ?? [],
        message: `no uptime check of ${url}: a site that is down to users can look healthy from inside`,
        fix: 'set policies.monitoring.uptimeCheck: true',
      }),
    );
  }
  if (!p.alerting) {
    findings.push(
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: monitors,
        message: 'no alerting: failures are recorded, but nobody is told',
        fix: 'set policies.monitoring.alerting: true',
      }),
    );
  } else if (monitors.length === 1) {
    findings.push(
      finding(stack, {
        category: 'monitoring',
        capability: null,
        hosts: monitors,
        message: `one monitoring host: while ${monitors[0]} is down nothing is watched and nobody is alerted`,
        fix: 'add a second host with role monitoring',
      }),
    );
  }
  return findings;
}
