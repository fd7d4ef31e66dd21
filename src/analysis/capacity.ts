import type { ResolvedStack } from '../design/types.ts';
import { finding, type Finding } from './finding.ts';

// What limits growth: the seeds' "no scalability" of a design whose every request meets one machine.

export function capacityFindings(stack: ResolvedStack): Finding[] {
  const serving = stack.hosts.filter((h) => h.roles.includes('web') || h.roles.includes('app'));
  if (serving.length !== 1) return [];
  const host = serving[0]!.name;
  return [
    finding(stack, {
      category: 'capacity',
      capability: null,
      hosts: [host],
      message: `every request is served by ${host} alone: the site cannot take more traffic than one machine, and growing it means redesigning it`,
      fix: 'put an lb in front of two or more servers running web and app, so that servers can be added',
    }),
  ];
}
