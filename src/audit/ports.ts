import { hostListeners } from '../daemons/registry.ts';
import { listenerOptions } from '../design/ports.ts';
import type { ResolvedStack } from '../design/types.ts';
import { CLIENT } from '../design/vocabulary.ts';
import type { Unserved } from '../plan/plan.ts';

// The design against what answers: nmap's view of one host from another, judged against the
// flows. Pure: the scan is run by src/lab/audit.ts; parsing and judging are tested here alone.

export type PortState = 'open' | 'closed' | 'filtered' | 'open|filtered' | 'closed|filtered' | 'unfiltered';

export interface ScannedPort {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly state: PortState;
}

export interface ScannedHost {
  readonly address: string;
  /** The ports nmap lists; every other scanned port is in `rest`. */
  readonly ports: readonly ScannedPort[];
  readonly rest: PortState | null;
}

/** What audit scans: every TCP port, and DNS over UDP. */
export const SCANNED = { tcp: 'all', udp: [53] } as const;

/** Reads nmap's grepable output (`-oG -`). */
export function parseGrepable(text: string): ScannedHost[] {
  const hosts: ScannedHost[] = [];
  for (const line of text.split('\n')) {
    const m = /^Host: (\S+) .*?\tPorts: ([^\t]*)(?:\tIgnored State: ([\w|]+) \(\d+\))?/.exec(line);
    if (!m) continue;
    const ports = m[2]!
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry): ScannedPort => {
        const [port, state, protocol] = entry.split('/');
        return { port: Number(port), state: state as PortState, protocol: protocol as 'tcp' | 'udp' };
      });
    hosts.push({ address: m[1]!, ports, rest: (m[3] as PortState | undefined) ?? null });
  }
  return hosts;
}

export type Verdict = 'pass' | 'fail' | 'pending';

export interface PortVerdict {
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  readonly state: PortState;
  readonly verdict: Verdict;
  readonly why: string;
}

/** One scanner's view of one address of another host. */
export interface Scan {
  /** A host of the design, or 'client' for the internet. */
  readonly from: string;
  readonly to: string;
  readonly address: string;
  readonly network: string;
}

/** Every scan audit runs: from the client to each public address, and from each host to each other host it shares a network with. */
export function scansOf(design: ResolvedStack): Scan[] {
  const scans: Scan[] = [];
  const publicNetworks = new Set(design.networks.filter((n) => n.exposure === 'public').map((n) => n.name));
  for (const to of design.hosts) {
    for (const [network, address] of Object.entries(to.addresses)) if (publicNetworks.has(network)) scans.push({ from: CLIENT, to: to.name, address, network });
  }
  for (const from of design.hosts) {
    for (const to of design.hosts) {
      if (from === to) continue;
      for (const [network, address] of Object.entries(to.addresses)) if (from.addresses[network]) scans.push({ from: from.name, to: to.name, address, network });
    }
  }
  return scans;
}

/**
 * Holds a scan against the flows: a port that answers without a flow, and a flow that is blocked,
 * fail. A flow whose port is closed (the firewall let the probe through, nothing listens) is
 * pending when the lab does not serve it yet, and fails otherwise.
 */
export function judge(design: ResolvedStack, unserved: readonly Unserved[], scan: Scan, scanned: ScannedHost): PortVerdict[] {
  const target = design.hosts.find((h) => h.name === scan.to);
  const listeners = target ? hostListeners(target.roles, listenerOptions(design.policies, design.app.port, target.monitored)) : [];
  const stateOf = (protocol: 'tcp' | 'udp', port: number): PortState => scanned.ports.find((p) => p.protocol === protocol && p.port === port)?.state ?? scanned.rest ?? 'filtered';
  const flows = design.flows.filter((f) => f.from === scan.from && f.to === scan.to && f.network === scan.network && (f.protocol === 'tcp' || (f.protocol === 'udp' && (SCANNED.udp as readonly number[]).includes(f.port))));
  const expected = new Map<string, { protocol: 'tcp' | 'udp'; port: number; purposes: string[] }>();
  for (const f of flows) {
    const key = `${f.protocol}/${f.port}`;
    const entry = expected.get(key) ?? { protocol: f.protocol as 'tcp' | 'udp', port: f.port, purposes: [] };
    entry.purposes.push(f.purpose);
    expected.set(key, entry);
  }
  const verdicts: PortVerdict[] = [];
  for (const { protocol, port, purposes } of expected.values()) {
    const state = stateOf(protocol, port);
    const flow = `the design's ${[...new Set(purposes)].join(' and ')} flow`;
    if (state === 'open') verdicts.push({ protocol, port, state, verdict: 'pass', why: flow });
    else if (state === 'closed') {
      const pending = unserved.find((u) => u.host === scan.to && u.protocol === protocol && u.port === port);
      const onDemand = listeners.find((l) => l.protocol === protocol && l.port === port)?.onDemand;
      if (onDemand) verdicts.push({ protocol, port, state, verdict: 'pass', why: `${flow}: ${onDemand}` });
      else verdicts.push({ protocol, port, state, verdict: pending ? 'pending' : 'fail', why: pending ? `${flow}: ${pending.why}` : `${flow}: let through, but nothing listens` });
    } else verdicts.push({ protocol, port, state, verdict: 'fail', why: `${flow} is blocked` });
  }
  for (const p of scanned.ports) {
    if (p.state !== 'open' || expected.has(`${p.protocol}/${p.port}`)) continue;
    const who = scan.from === CLIENT ? 'the internet' : scan.from;
    verdicts.push({ protocol: p.protocol, port: p.port, state: p.state, verdict: 'fail', why: `open to ${who}, but the design has no flow from ${who} to it` });
  }
  return verdicts.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

export interface Listening {
  readonly protocol: 'tcp' | 'udp';
  readonly address: string;
  readonly port: number;
  /** The program holding the socket, as ss names it. */
  readonly program: string;
}

/** Reads `ss -H -ltnup`: every listening TCP socket and bound UDP socket of a host. */
export function parseListening(text: string): Listening[] {
  const found: Listening[] = [];
  for (const line of text.split('\n')) {
    const m = /^(tcp|udp)\s+\S+\s+\d+\s+\d+\s+(\S+):(\d+)\s+\S+(?:\s+users:\(\("([^"]+)")?/.exec(line.trim());
    if (!m) continue;
    found.push({ protocol: m[1] as 'tcp' | 'udp', address: m[2]!.replace(/^\[|\]$/g, '').replace(/%.*$/, ''), port: Number(m[3]), program: m[4] ?? 'unknown' });
  }
  return found;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Linux's default net.ipv4.ip_local_port_range. */
export const EPHEMERAL_PORTS: readonly [number, number] = [32768, 60999];

/** Reads `sysctl -n net.ipv4.ip_local_port_range` ("32768\t60999"). */
export function parsePortRange(text: string): [number, number] {
  const [lo, hi] = text.trim().split(/\s+/).map(Number);
  return Number.isInteger(lo) && Number.isInteger(hi) ? [lo!, hi!] : [...EPHEMERAL_PORTS];
}

/**
 * What a host listens on, held against what its roles declare: a socket on a non-loopback
 * address that no daemon of the design declares fails, even when a firewall hides it, since a
 * firewall rule is one mistake away from exposing it.
 */
export function judgeListening(listening: readonly Listening[], declared: readonly { protocol: 'tcp' | 'udp'; port: number }[], ephemeral: readonly [number, number] = EPHEMERAL_PORTS): PortVerdict[] {
  const verdicts = new Map<string, PortVerdict>();
  for (const l of listening) {
    if (LOOPBACK.test(l.address)) continue;
    // A UDP socket on a port the kernel handed out is a sender's (HAProxy's syslog socket), not a server's.
    if (l.protocol === 'udp' && l.port >= ephemeral[0] && l.port <= ephemeral[1]) continue;
    const key = `${l.protocol}/${l.port}`;
    if (verdicts.has(key)) continue;
    const ok = declared.some((d) => d.protocol === l.protocol && d.port === l.port);
    verdicts.set(key, {
      protocol: l.protocol,
      port: l.port,
      state: 'open',
      verdict: ok ? 'pass' : 'fail',
      why: ok ? `${l.program} on ${l.address}, as the design declares` : `${l.program} listens on ${l.address}:${l.port}, which no daemon of the design declares`,
    });
  }
  return [...verdicts.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
