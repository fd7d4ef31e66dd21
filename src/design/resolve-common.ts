import type { Cidr } from './addresses.ts';
import type { Path } from './problems.ts';
import type { ParsedDesign } from './schema.ts';

// What the parts of resolve() share: defaults, the network being allocated, how problems are reported.

export const DEFAULT_NETWORKS = {
  public: { cidr: '203.0.113.0/24' },
  private: { cidr: '10.10.0.0/24' },
} as const;

/** Offsets inside every network: .1 is the machine's own address, .2 the client's, hosts start at .10. */
export const OFFSETS = { gateway: 1, client: 2, firstHost: 10 } as const;

export const DEFAULT_TTL = 300;

export type RawHost = ParsedDesign['hosts'][string];

export interface NetworkInfo {
  name: string;
  cidr: Cidr;
  exposure: 'public' | 'private';
  /** offset → who holds it */
  used: Map<number, string>;
}

export type Report = (path: Path, message: string, at?: 'key' | 'value') => void;
