import { join } from 'node:path';
import type { VirtualIp } from '../design/types.ts';
import type { Role } from '../design/vocabulary.ts';
import type { LabHost } from '../plan/topology.ts';
import { PORTS } from '../design/ports.ts';
import { statsAddresses } from './haproxy.ts';
import { header, staged, type DaemonContext, type Observation, type RenderedFile, type RunnableDaemon } from './types.ts';

// keepalived on each holder of a virtual IP: VRRP between the holders (unicast, on the network
// their VRRP flow crosses), the address itself on its own network. At start the first holder in
// the design is preferred; when the holder stops advertising (killed, frozen, cut off) or its HAProxy stops
// answering, the next one takes the address and announces it by gratuitous ARP. A holder that
// comes back does not take it back (nopreempt): one move per failure, no flapping.
// VRRP version 3, for advertisements every 200 ms (version 2 counts whole seconds). Version 3 has
// no authentication; the advertisements go by unicast between the holders only, and each holder's
// firewall accepts VRRP from the other holders and from nobody else.

/** Five advertisements a second: a silent master is replaced after about three of them, 0.6 s. */
const ADVERT_INTERVAL_S = 0.2;
/** How often keepalived runs a holder's check (keepalived counts whole seconds here). */
export const CHECK_INTERVAL_S = 1;

/** A VRRP router id per virtual IP, the same on every holder, distinct within the stack. */
function routerId(vips: readonly VirtualIp[], vip: VirtualIp): number {
  return 50 + vips.indexOf(vip);
}

/** What differs between the keepalived of one kind of virtual IP and another's. */
interface VirtualIpKeeper {
  readonly name: string;
  readonly title: string;
  readonly role: Role;
  readonly after: readonly string[];
  /** What a holder must pass to hold the address, named `check`: a vrrp_script keepalived runs, or a track_file another process writes. */
  readonly check: (context: DaemonContext) => { readonly kind: 'script' | 'file'; readonly section: string; readonly files: readonly RenderedFile[] };
}

/** A keepalived daemon for the virtual IPs of one role: VRRP between their holders, with its own health check. */
export function virtualIpKeeper(keeper: VirtualIpKeeper): RunnableDaemon {
  const vipsOf = (host: LabHost, vips: readonly VirtualIp[]) => vips.filter((v) => v.role === keeper.role && v.holders.includes(host.name));
  const daemon: RunnableDaemon = {
    name: keeper.name,
    title: keeper.title,
    programs: { keepalived: 'keepalived' },
    // VRRP is IP protocol 112, not a port: its flows come from the virtual IPs (flows.ts).
    listens: () => [],
    runsOn: (host, design) => vipsOf(host, design.virtualIps).length > 0,
    after: keeper.after,
    render(context) {
      const { paths, host, design, topology } = context;
      const vips = vipsOf(host, design.virtualIps);
      const check = keeper.check(context);
      const interfaceOn = (network: string) => host.interfaces.find((i) => i.network === network)!;
      const instances = vips.map((vip) => {
        const advert = design.flows.find((f) => f.from === host.name && f.purpose === 'vrrp' && f.network !== null)?.network ?? vip.network;
        const own = interfaceOn(advert);
        const peers = vip.holders.filter((h) => h !== host.name).map((h) => topology.hosts.find((x) => x.name === h)!.addresses[advert]!);
        const target = interfaceOn(vip.network);
        return `vrrp_instance ${vip.role}_${routerId(design.virtualIps, vip)} {
    # Every holder starts as a backup; the highest priority that advertises holds the address,
    # and keeps it until it fails, even when a higher priority comes back.
    state BACKUP
    nopreempt
    interface ${own.name}
    virtual_router_id ${routerId(design.virtualIps, vip)}
    priority ${200 - vip.holders.indexOf(host.name) * 10}
    advert_int ${ADVERT_INTERVAL_S}
    unicast_src_ip ${own.address}
    unicast_peer {
${peers.map((p) => `        ${p}`).join('\n')}
    }
    track_${check.kind} {
        check
    }
    virtual_ipaddress {
        ${vip.address}/${target.prefix} dev ${target.name}
    }
}`;
      });
      const configFile = join(paths.config, 'keepalived.conf');
      const config = `${header('#', context, keeper.name)}
global_defs {
    router_id ${host.name}
    vrrp_version 3
    script_user root
    enable_script_security
}

${check.section}
${instances.join('\n\n')}
`;
      const vrrpPid = join(paths.run, 'vrrp.pid');
      return {
        daemon: keeper.name,
        host: host.name,
        namespace: host.namespace,
        after: keeper.after,
        command: ['keepalived', '--dont-fork', '--log-console', '--log-detail', '--vrrp', '--use-file', configFile, '--pid', join(paths.run, 'keepalived.pid'), '--vrrp_pid', vrrpPid],
        files: [{ path: configFile, content: config, mode: 0o644 }, ...check.files],
        dirs: [{ path: paths.run }],
        copies: [],
        validate: [['keepalived', '--config-test', '--use-file', staged(configFile)]],
        reload: { signal: 'SIGHUP' },
        // Ready once its VRRP process runs; which holder has the address is VRRP's business.
        readiness: { kind: 'exec', argv: ['test', '-s', vrrpPid], what: `keepalived's VRRP process (${vrrpPid})` },
        readinessTimeoutMs: 10_000,
        log: paths.log,
      };
    },
    async observe(spec, run) {
      const { exitCode, stdout } = await run(['ip', '-4', '-o', 'addr', 'show'], 3_000);
      if (exitCode !== 0) return null;
      const config = spec.files[0]!.content;
      const addresses = [...config.matchAll(/^\s+(\d+\.\d+\.\d+\.\d+)\/\d+ dev/gm)].map((m) => m[1]!);
      const held = addresses.filter((a) => stdout.includes(` ${a}/`));
      return { details: { virtualIps: addresses, holds: held }, summary: held.length ? `holds ${held.join(', ')} (master)` : `standing by for ${addresses.join(', ')} (backup)` } satisfies Observation;
    },
    };
  return daemon;
}

export const keepalived = virtualIpKeeper({
  name: 'keepalived',
  title: 'keepalived, which moves the entry\'s virtual IP between the load balancers (VRRP)',
  role: 'lb',
  // The address comes up once HAProxy serves on it (it binds the virtual IP before holding it).
  after: ['haproxy'],
  // A live host whose HAProxy is dead or frozen gives the address up too.
  check: (context) => ({
    kind: 'script',
    section: `vrrp_script check {
    script "/usr/bin/curl -sf --max-time 0.5 -o /dev/null http://${statsAddresses(context)[0]}:${PORTS.haproxyStats}/stats"
    interval ${CHECK_INTERVAL_S}
    timeout 1
    fall 1
    rise 2
}
`,
    files: [],
  }),
});

