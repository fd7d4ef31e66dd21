import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ProveFault } from './verdict.ts';

// The order `prove` makes its faults in. Without a seed: host by host in the design's order, each
// way in turn, so that two runs are alike. With one: shuffled by it, so that no fault always
// follows the same one (a host that heals slowly, a replica still catching up), and the same seed
// gives the same order again.

export interface ScheduledFault {
  readonly host: string;
  readonly how: ProveFault;
  /** For a partition: the hosts the host is cut off from. */
  readonly from?: readonly string[];
}

/**
 * Every (host, fault) pair, a partition only for a host that users' requests reach from another
 * host (`partitionedFrom`), and in the order the seed says.
 */
export function faultSchedule(hosts: readonly string[], faults: readonly ProveFault[], partitionedFrom: (host: string) => readonly string[], seed: number | null): ScheduledFault[] {
  const pairs = hosts.flatMap((host) =>
    faults.flatMap((how): ScheduledFault[] => {
      if (how !== 'partition') return [{ host, how }];
      const from = partitionedFrom(host);
      return from.length > 0 ? [{ host, how, from }] : [];
    }),
  );
  if (seed === null) return pairs;
  // Fisher–Yates, drawing from a seeded generator.
  const rng = xoroshiro128plus(seed);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  return pairs;
}
