import type { ResolvedStack } from '../design/types.ts';
import { majority } from './expr.ts';
import { finding, hostsWith, type Finding } from './finding.ts';

// How well a failure is survived, short of a single point of failure: how long a dead server
// keeps receiving requests, and what a client meets while a dead address is still handed out.

/** Longer than this between a server's death and its removal is that long of errors, each time. */
const SLOW_DETECTION_MS = 10_000;

export function failoverFindings(stack: ResolvedStack): Finding[] {
  const findings: Finding[] = [];
  const checks = stack.policies.healthChecks;
  const lbs = hostsWith(stack, 'lb');
  const detectionMs = checks.intervalMs * checks.fall;
  if (lbs.length > 0 && checks.enabled && detectionMs > SLOW_DETECTION_MS) {
    findings.push(
      finding(stack, {
        category: 'failover',
        capability: null,
        hosts: lbs,
        message: `a dead server is taken out after about ${detectionMs / 1000} s (a check every ${checks.intervalMs / 1000} s, ${checks.fall} failures): every failure costs that long of errors`,
        fix: `check more often or give up sooner (policies.healthChecks.intervalMs, fall), so that a dead server is out within ${SLOW_DETECTION_MS / 1000} s`,
      }),
    );
  }
  const members = hostsWith(stack, 'db');
  if (members.length > 0) {
    // A cluster goes on while a majority of its members is up, exactly; one more loss stops it.
    const tolerated = members.length - majority(members.length);
    findings.push(
      finding(stack, {
        category: 'failover',
        capability: 'write',
        hosts: members,
        message: `the database cluster (${members.length} members) goes on without ${tolerated === 1 ? 'any one member' : `any ${tolerated} members`}, but losing ${tolerated + 1} at once stops reads and writes: the rest are no majority, and refuse both rather than serve what may be stale`,
        fix: `run ${2 * (tolerated + 1) + 1} members to survive ${tolerated + 1} lost at once, on hosts that do not fail together`,
      }),
    );
  }
  const entry = stack.records.find((r) => r.name === stack.entry);
  if (entry?.redundancy === 'multiple-records') {
    findings.push(
      finding(stack, {
        category: 'failover',
        capability: null,
        hosts: entry.hosts,
        message: `${entry.fqdn} is ${entry.addresses.length} A records: a dead host's address is still handed out for the TTL (${entry.ttl} s), and only clients that try the next address survive it`,
        fix: entry.hosts.every((h) => stack.hosts.find((x) => x.name === h)?.roles.includes('lb')) ? 'share a virtual IP between the lbs (policies.lb.virtualIp: true)' : 'put the hosts behind lbs that share a virtual IP',
      }),
    );
  }
  return findings;
}
