import { FIREWALL_TABLE, REFUSED_COUNTERS, REFUSED_SETS, type HostFirewall } from '../plan/firewall.ts';
import { staged } from '../daemons/types.ts';
import { labError } from './errors.ts';
import type { Target } from './target.ts';

// Putting a host's firewall in place, and reading back what it refused. The ruleset itself is
// rendered in src/plan/firewall.ts; this is the edge where nft runs inside the host.

/** Loads each host's ruleset; nft applies a file in one transaction, so a host never has half of one. */
export async function loadFirewalls(target: Target, firewalls: readonly HostFirewall[]): Promise<void> {
  for (const fw of firewalls) {
    target.writeFile(fw.file);
    const result = await target.run(fw.namespace, fw.apply, { allowFailure: true, timeoutMs: 15_000 });
    if (result.exitCode !== 0) throw labError('firewall-refused', `nft refused the firewall of ${fw.host} (\`${fw.apply.join(' ')}\`, status ${result.exitCode}):\n    ${result.stderr.trim().split('\n').slice(0, 6).join('\n    ')}`);
  }
}

/** Checks changed rulesets without loading them; every refusal is said at once, and nothing is changed. */
export async function checkFirewalls(target: Target, firewalls: readonly HostFirewall[]): Promise<void> {
  const refusals: string[] = [];
  for (const fw of firewalls) {
    const next = staged(fw.file.path);
    target.writeFile({ ...fw.file, path: next });
    try {
      const result = await target.run(fw.namespace, fw.check.map((a) => (a === fw.file.path ? next : a)), { allowFailure: true, timeoutMs: 15_000 });
      if (result.exitCode !== 0) refusals.push(`${fw.host}: ${result.stderr.trim().split('\n').slice(0, 4).join(' ')}`);
    } finally {
      target.remove(next);
    }
  }
  if (refusals.length > 0) throw labError('firewall-refused', `nft refused the new firewall of ${refusals.join('; ')}. Nothing was changed.`);
}

export interface Refusal {
  /** The other end: the source of a refused inbound packet, the destination of an outbound one. */
  readonly address: string;
  readonly protocol: string;
  readonly port: number;
}

/** What `status` shows of a host's firewall. */
export interface FirewallView {
  readonly loaded: boolean;
  /** Packets refused since the ruleset was loaded. */
  readonly refusedIn: number;
  readonly refusedOut: number;
  /** What was refused in the last hour, each (address, protocol, port) once, the latest first, at most RECENT_SHOWN. */
  readonly recentIn: readonly Refusal[];
  readonly recentOut: readonly Refusal[];
  /** How many different (address, protocol, port) were refused in the last hour: a scan makes thousands. */
  readonly recentInCount: number;
  readonly recentOutCount: number;
}

export const RECENT_SHOWN = 10;

interface NftJson {
  nftables: ({ counter?: { name: string; packets: number } } & { set?: { name: string; elem?: ({ elem: { val: { concat: [string, string, number] }; expires?: number } } | { concat: [string, string, number] })[] } })[];
}

/** Reads the ruleset's counters and recent refusals from `nft -j list table`; null-free: a missing table is `loaded: false`. */
export function parseFirewall(json: string): FirewallView {
  const items = (JSON.parse(json) as NftJson).nftables;
  const counter = (name: string) => items.find((i) => i.counter?.name === name)?.counter?.packets ?? 0;
  // The latest refusal has the most time left before it expires.
  const recent = (name: string) =>
    (items.find((i) => i.set?.name === name)?.set?.elem ?? [])
      .map((e) => {
        const [address, protocol, port] = 'elem' in e ? e.elem.val.concat : e.concat;
        return { refusal: { address, protocol, port }, expires: 'elem' in e ? (e.elem.expires ?? 0) : 0 };
      })
      .sort((a, b) => b.expires - a.expires)
      .map((r) => r.refusal);
  const [recentIn, recentOut] = [recent(REFUSED_SETS.input), recent(REFUSED_SETS.output)];
  return {
    loaded: true,
    refusedIn: counter(REFUSED_COUNTERS.input),
    refusedOut: counter(REFUSED_COUNTERS.output),
    recentIn: recentIn.slice(0, RECENT_SHOWN),
    recentOut: recentOut.slice(0, RECENT_SHOWN),
    recentInCount: recentIn.length,
    recentOutCount: recentOut.length,
  };
}

export async function observeFirewall(target: Target, namespace: string): Promise<FirewallView> {
  const result = await target.run(namespace, ['nft', '-j', 'list', 'table', 'inet', FIREWALL_TABLE], { allowFailure: true, timeoutMs: 5_000 });
  if (result.exitCode !== 0) return { loaded: false, refusedIn: 0, refusedOut: 0, recentIn: [], recentOut: [], recentInCount: 0, recentOutCount: 0 };
  return parseFirewall(result.stdout);
}
