import ipaddr from 'ipaddr.js';

// Address arithmetic for IPv4 networks. Parsing and range tests come from ipaddr.js;
// only the allocation policy is ours.

export interface Cidr {
  base: number;
  prefix: number;
}

export function toInt(address: string): number {
  return ipaddr.IPv4.parse(address).toByteArray().reduce((n, byte) => n * 256 + byte, 0);
}

export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return { base: toInt(address.toString()), prefix };
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The network address of the block that `cidr`'s address falls in, e.g. 10.0.0.0/24 for 10.0.0.5/24. */
export function networkOf(c: Cidr): number {
  return c.base - (c.base % size(c));
}

export function contains(c: Cidr, address: string): boolean {
  const n = toInt(address);
  return n >= networkOf(c) && n < networkOf(c) + size(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const [aStart, bStart] = [networkOf(a), networkOf(b)];
  return aStart < bStart + size(b) && bStart < aStart + size(a);
}

/** The n-th address of the network (0 is the network address itself). */
export function nth(c: Cidr, n: number): string {
  return toAddress(networkOf(c) + n);
}

export function offsetOf(c: Cidr, address: string): number {
  return toInt(address) - networkOf(c);
}

// Ranges a lab may use: private (RFC 1918), documentation (RFC 5737) and benchmarking (RFC 2544).
// Anything else may be somebody's real address, such as the seeds' 8.8.8.8.
export const SAFE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/15'];

export function isSafeNetwork(c: Cidr): boolean {
  return SAFE_RANGES.some((range) => {
    const r = parseCidr(range);
    return networkOf(c) >= networkOf(r) && networkOf(c) + size(c) <= networkOf(r) + size(r);
  });
}
