import type { ResolvedStack } from '../design/types.ts';
import { finding, hostsWith, listing, type Finding } from './finding.ts';

// What a failover can lose. With asynchronous replication the primary acknowledges a write
// before any replica has it, so a replica promoted after the primary is lost may be behind: the
// writes users were told succeeded are gone. Automatically promoted, this happens unseen.

const FIX = 'set policies.db.replication: semi-sync, so that a write is acknowledged only once a replica has it (or use a multi-primary cluster)';

export function durabilityFindings(stack: ResolvedStack): Finding[] {
  const primary = hostsWith(stack, 'db-primary')[0];
  const replicas = hostsWith(stack, 'db-replica');
  if (!primary || replicas.length === 0 || stack.policies.db.replication !== 'async') return [];
  const automatic = stack.policies.db.failover === 'automatic';
  return [
    finding(stack, {
      category: 'durability',
      capability: 'write',
      hosts: [primary, ...replicas],
      message: automatic
        ? `automatic failover on asynchronous replication: when ${primary} is lost, ${listing(replicas)} may be promoted while behind it, and writes ${primary} had already acknowledged are lost, without anyone deciding so`
        : `asynchronous replication: a replica promoted by hand after ${primary} is lost may be behind it, and the writes it had not received, already acknowledged to users, are lost`,
      fix: FIX,
    }),
  ];
}
