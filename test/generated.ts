import type { StackDesign } from '../src/design/schema.ts';

// Designs of any size, for the benchmark and the scale tests: two load balancers (two A records),
// web and app tiers that share what is left, a primary and a replica. Shaped like `scaled`, larger.

export function generatedDesign(hosts: number): StackDesign {
  const tier = Math.max(1, Math.floor((hosts - 4) / 2));
  const named = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);
  const entries: [string, { roles: string[]; networks: string[] }][] = [
    ...named('lb', 2).map((n) => [n, { roles: ['lb'], networks: ['public', 'private'] }] as [string, { roles: string[]; networks: string[] }]),
    ...named('web', tier).map((n) => [n, { roles: ['web'], networks: ['private'] }] as [string, { roles: string[]; networks: string[] }]),
    ...named('app', hosts - 4 - tier).map((n) => [n, { roles: ['app'], networks: ['private'] }] as [string, { roles: string[]; networks: string[] }]),
    ['db-0001', { roles: ['db-primary'], networks: ['private'] }],
    ['db-0002', { roles: ['db-replica'], networks: ['private'] }],
  ];
  return {
    stack: 'generated',
    domain: 'foobar.com',
    networks: { public: { cidr: '203.0.113.0/24' }, private: { cidr: '10.80.0.0/16' } },
    records: { www: 'lb' },
    hosts: Object.fromEntries(entries),
  } as unknown as StackDesign;
}
