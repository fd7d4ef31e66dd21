import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { loadDesign } from '../../src/design/load.ts';
import type { ResolvedStack } from '../../src/design/types.ts';
import { CLIENT } from '../../src/design/vocabulary.ts';
import { parseFirewall } from '../../src/lab/firewall.ts';
import { ACME_PORT } from '../../src/daemons/pebble.ts';
import { renderFirewall } from '../../src/plan/firewall.ts';
import { topology } from '../../src/plan/topology.ts';
import { designFrom } from '../helpers.ts';

// The firewall is the flows and nothing else: every flow of the design is let through on both of
// its ends, and nothing that is not a flow is. The rulesets themselves are golden files
// (test/golden/<blueprint>/lab/<host>/firewall.nft); nft checks them in the integration tests.

interface Accept {
  direction: 'in' | 'out';
  iface: string;
  peers: string[] | null;
  protocol: string;
  port: number;
}

/** The accept rules of a rendered ruleset, read back. */
function accepts(ruleset: string): Accept[] {
  const rules: Accept[] = [];
  for (const line of ruleset.split('\n')) {
    const m = /^\s+(iif|oif)name "(\w+)"(?: ip [sd]addr (\{ [^}]+ \}|\S+))? (?:(tcp|udp) dport (\d+)|ip protocol (vrrp)) accept/.exec(line);
    if (!m) continue;
    const peers = m[3] === undefined ? null : m[3].replace(/[{}]/g, '').split(',').map((p) => p.trim()).filter(Boolean);
    rules.push({ direction: m[1] === 'iif' ? 'in' : 'out', iface: m[2]!, peers, protocol: m[4] ?? m[6]!, port: Number(m[5] ?? 0) });
  }
  return rules;
}

function rulesets(design: ResolvedStack) {
  const wiring = topology(design);
  const of = new Map(wiring.hosts.map((h) => [h.name, { host: h, rules: accepts(renderFirewall(design, wiring, h) ?? '') }]));
  return { wiring, of };
}

const firewalled = BLUEPRINTS.filter((b) => b !== 'simple' && b !== 'distributed');

describe('a firewall rendered from the flows', () => {
  for (const blueprint of firewalled) {
    it(`lets every flow of ${blueprint} through, at both ends, on the flow's own interface`, async () => {
      const { stack } = await loadDesign(blueprint);
      const { wiring, of } = rulesets(stack);
      const flows = stack.flows.filter((f) => f.network !== null && f.from !== f.to);
      assert.ok(flows.length > 5);
      for (const f of flows) {
        const to = of.get(f.to)!;
        const ifaceIn = to.host.interfaces.find((i) => i.network === f.network)!.name;
        const source = f.from === CLIENT ? null : wiring.hosts.find((h) => h.name === f.from)!.addresses[f.network!]!;
        const admitted = to.rules.some((r) => r.direction === 'in' && r.iface === ifaceIn && r.protocol === f.protocol && r.port === f.port && (r.peers === null ? source === null || f.from === CLIENT : source !== null && r.peers.includes(source)));
        assert.ok(admitted, `${f.from} → ${f.to} ${f.protocol} ${f.port} (${f.purpose}) is let in`);
        if (f.from === CLIENT) continue;
        const from = of.get(f.from)!;
        const ifaceOut = from.host.interfaces.find((i) => i.network === f.network)!.name;
        const destination = to.host.addresses[f.network!]!;
        const sent = from.rules.some((r) => r.direction === 'out' && r.iface === ifaceOut && r.protocol === f.protocol && r.port === f.port && (r.peers === null ? f.protocol === 'vrrp' : r.peers.includes(destination)));
        assert.ok(sent, `${f.from} may send ${f.protocol} ${f.port} to ${f.to} (${f.purpose})`);
      }
    });

    it(`opens nothing on ${blueprint} that is not a flow`, async () => {
      const { stack } = await loadDesign(blueprint);
      const { wiring, of } = rulesets(stack);
      for (const [name, { host, rules }] of of) {
        for (const r of rules) {
          const network = host.interfaces.find((i) => i.name === r.iface)!.network;
          const addressOf = (h: string) => wiring.hosts.find((x) => x.name === h)?.addresses[network];
          // A virtual IP the other end holds for that role (a database cluster's write address) is that end.
          const heldBy = (g: (typeof stack.flows)[number], p: string) => stack.virtualIps.some((v) => v.address === p && v.role === g.toRole && v.holders.includes(g.to));
          const flow = stack.flows.find((f) =>
            f.network === network && f.protocol === r.protocol && f.port === r.port &&
            (r.direction === 'in'
              ? f.to === name && (r.peers === null ? f.from === CLIENT : r.peers.every((p) => stack.flows.some((g) => g.to === name && g.port === r.port && addressOf(g.from) === p)))
              : f.from === name && (r.peers === null ? f.protocol === 'vrrp' : r.peers.every((p) => stack.flows.some((g) => g.from === name && g.port === r.port && (addressOf(g.to) === p || heldBy(g, p)))))),
          );
          // The exceptions are the internet's: lookups to the lab's managed DNS, which stands for a
          // provider's resolver, and a load balancer's orders to the lab's ACME CA.
          const lookup = r.direction === 'out' && r.port === 53 && stack.dns.mode === 'managed' && r.peers?.length === 1 && r.peers[0] === host.resolver;
          const acme = wiring.hosts.find((h) => h.kind === 'acme');
          const order = r.direction === 'out' && r.port === ACME_PORT && host.roles.includes('lb') && acme !== undefined && r.peers?.join() === Object.values(acme.addresses).join();
          assert.ok(flow || lookup || order, `${name}: ${r.direction} ${r.iface} ${r.protocol} ${r.port} from/to ${r.peers?.join(', ') ?? 'anywhere'} is a flow`);
        }
      }
    });
  }

  it('lets MariaDB in only from the app hosts and the replicas, and HAProxy stats only from monitoring', async () => {
    const { stack } = await loadDesign('scaled');
    const { wiring, of } = rulesets(stack);
    const address = (h: string) => wiring.hosts.find((x) => x.name === h)!.addresses.private!;
    const mysql = of.get('db-01')!.rules.filter((r) => r.direction === 'in' && r.port === 3306);
    assert.deepEqual(mysql.flatMap((r) => r.peers ?? ['anywhere']).sort(), ['app-01', 'app-02', 'db-02'].map(address).sort());
    const stats = of.get('lb-01')!.rules.filter((r) => r.direction === 'in' && r.port === 8404);
    assert.deepEqual(stats.flatMap((r) => r.peers ?? ['anywhere']), [address('mon-01')]);
  });

  it('keeps a web server from opening a connection to a database, and a database from calling out', async () => {
    const { stack } = await loadDesign('scaled');
    const { wiring, of } = rulesets(stack);
    const dbAddresses = ['db-01', 'db-02'].map((h) => wiring.hosts.find((x) => x.name === h)!.addresses.private!);
    assert.ok(!of.get('web-01')!.rules.some((r) => r.direction === 'out' && r.peers?.some((p) => dbAddresses.includes(p))));
    assert.deepEqual(of.get('db-01')!.rules.filter((r) => r.direction === 'out'), []);
    // The replica calls its primary, and nothing else.
    assert.deepEqual(of.get('db-02')!.rules.filter((r) => r.direction === 'out').map((r) => `${r.peers} ${r.port}`), [`${dbAddresses[0]} 3306`]);
  });

  it('drops by default both ways, refuses addresses on the wrong interface, and counts what it refused', async () => {
    const { stack } = await loadDesign('secured');
    const wiring = topology(stack);
    const ruleset = renderFirewall(stack, wiring, wiring.hosts.find((h) => h.name === 'lb-01')!)!;
    assert.match(ruleset, /chain input \{\n\s+type filter hook input priority filter; policy drop;/);
    assert.match(ruleset, /chain output \{\n\s+type filter hook output priority filter; policy drop;/);
    assert.match(ruleset, /fib daddr \. iif type != \{ local, broadcast, multicast \} counter name "refused_in" drop/);
    assert.match(ruleset, /fib saddr \. iif oif missing counter name "refused_in" drop/);
    assert.match(ruleset, /update @refused_in_recent \{ ip saddr \. meta l4proto \. th dport \}/);
    // One transaction: the table is made sure of, deleted and written again.
    assert.match(ruleset, /^table inet webstack\ndelete table inet webstack\ntable inet webstack \{/m);
  });

  it('is not rendered for a design without policies.firewall, nor for the lab\'s client and DNS', async () => {
    const { stack } = await loadDesign('distributed');
    const wiring = topology(stack);
    assert.ok(wiring.hosts.every((h) => renderFirewall(stack, wiring, h) === null));
    const secured = (await loadDesign('secured')).stack;
    const securedWiring = topology(secured);
    for (const h of securedWiring.hosts.filter((x) => x.kind !== 'design')) assert.equal(renderFirewall(secured, securedWiring, h), null, h.name);
  });

  it('follows the design: an app host added to scaled is let into the database', () => {
    const design = designFrom(`
stack: grow
domain: foobar.com
networks: { public: { cidr: 203.0.113.96/27 }, private: { cidr: 10.71.96.0/24 } }
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  app-01: { roles: [app], networks: [private] }
  app-02: { roles: [app], networks: [private] }
  db-01: { roles: [db-primary], networks: [private] }
policies: { firewall: true }
`).stack;
    const { wiring, of } = rulesets(design);
    const app2 = wiring.hosts.find((h) => h.name === 'app-02')!.addresses.private!;
    assert.ok(of.get('db-01')!.rules.some((r) => r.direction === 'in' && r.port === 3306 && r.peers?.includes(app2)));
  });
});

describe("what status reads of a host's firewall", () => {
  it('counts refused packets and lists what was refused lately', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { counter: { family: 'inet', name: 'refused_in', table: 'webstack', packets: 7, bytes: 420 } },
        { counter: { family: 'inet', name: 'refused_out', table: 'webstack', packets: 1, bytes: 60 } },
        { set: { family: 'inet', name: 'refused_in_recent', table: 'webstack', elem: [{ elem: { val: { concat: ['10.71.64.13', 'tcp', 3306] }, expires: 3598 } }] } },
        { set: { family: 'inet', name: 'refused_out_recent', table: 'webstack' } },
      ],
    });
    assert.deepEqual(parseFirewall(json), { loaded: true, refusedIn: 7, refusedOut: 1, recentIn: [{ address: '10.71.64.13', protocol: 'tcp', port: 3306 }], recentOut: [], recentInCount: 1, recentOutCount: 0 });
  });

  it('shows the latest refusals of a scan, not thousands', () => {
    const elem = Array.from({ length: 500 }, (_, i) => ({ elem: { val: { concat: ['10.71.64.13', 'tcp', 1000 + i] }, expires: 3000 + i } }));
    const view = parseFirewall(JSON.stringify({ nftables: [{ set: { name: 'refused_in_recent', elem } }] }));
    assert.equal(view.recentInCount, 500);
    assert.deepEqual(view.recentIn.map((r) => r.port), Array.from({ length: 10 }, (_, i) => 1499 - i));
  });
});
