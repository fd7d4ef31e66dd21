import type { Flow, ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CLIENT, type Capability, type Role } from '../design/vocabulary.ts';
import { and, atLeast, FALSE, majority, or, TRUE, up, type Expr } from './expr.ts';

// What each user capability needs, read off the flow graph: a request enters where the
// client's flows go, and each role passes it on along its own flows. Failover policies
// decide whether a role needs one of its next hops (or) or all of them (and).

type Kind = Exclude<Capability, 'resolve'>;

export function capabilityExpressions(stack: ResolvedStack): Record<Capability, Expr> {
  const outbound = new Map<string, Flow[]>();
  for (const f of stack.flows) {
    const key = `${f.from}/${f.fromRole}`;
    const list = outbound.get(key);
    if (list) list.push(f);
    else outbound.set(key, [f]);
  }
  const from = (host: string, role: Role, purposes: Flow['purpose'][]) => (outbound.get(`${host}/${role}`) ?? []).filter((f) => purposes.includes(f.purpose));

  // With health checks the lb stops sending to a dead backend; without them every
  // backend's loss fails a share of requests, so the lb needs all of them.
  const lbCombine = stack.policies.healthChecks.enabled ? or : and;
  const clusterSize = stack.hosts.filter((h) => h.roles.includes('db')).length;

  // One expression per (host, role, capability), shared wherever it is needed: each web server's
  // expression names the whole app tier once, not once per web server. Flows only go down the
  // tiers (lb → web → app → databases), so what a host serves does not depend on the way there;
  // the loop guard is a safety net.
  const served = new Map<string, Expr>();
  const serve = (host: string, role: Role, kind: Kind, path: ReadonlySet<string>): Expr => {
    const here = `${host}/${role}`;
    if (path.has(here)) return FALSE; // a loop serves nothing
    const key = `${here}/${kind}`;
    const known = served.get(key);
    if (known) return known;
    const next = new Set(path).add(here);
    const onward = (flows: Flow[], combine: (...e: Expr[]) => Expr) => combine(...flows.map((f) => serve(f.to, f.toRole, kind, next)));
    let handled: Expr;
    switch (role) {
      case 'lb':
        handled = onward(from(host, role, ['proxy']), lbCombine);
        break;
      case 'web':
        handled = kind === 'static' ? TRUE : onward(from(host, role, ['app']), or);
        break;
      case 'app': {
        // Reads go to a replica and fall back to the primary; writes go to the primary. A Galera
        // cluster serves both while a majority of its members is up: the members of a minority
        // refuse them.
        const flows = from(host, role, kind === 'read' ? ['sql-read', 'sql-write'] : ['sql-write']);
        const members = [...new Set(flows.filter((f) => f.toRole === 'db').map((f) => f.to))];
        const cluster = members.length > 0 ? [atLeast(majority(clusterSize), members.map((m) => serve(m, 'db', kind, next)))] : [];
        handled = kind === 'static' ? TRUE : or(...flows.filter((f) => f.toRole !== 'db').map((f) => serve(f.to, f.toRole, kind, next)), ...cluster);
        break;
      }
      default:
        handled = TRUE;
    }
    const result = and(up(host, role), handled);
    served.set(key, result);
    return result;
  };

  const resolveName = stack.dns.mode === 'own' ? or(...stack.dns.hosts.map((h) => up(h, 'dns'))) : TRUE;
  const record = stack.records.find((r) => r.name === stack.entry);
  const entryFlows = stack.flows.filter((f) => f.from === CLIENT && f.purpose === 'http' && record?.hosts.includes(f.to));

  const result = { resolve: resolveName } as Record<Capability, Expr>;
  for (const kind of CAPABILITIES) {
    if (kind === 'resolve') continue;
    // A client that finds one address dead tries the next (several A records) or
    // never notices (a virtual IP moves), so one reachable entry is enough.
    result[kind] = and(resolveName, or(...entryFlows.map((f) => serve(f.to, f.toRole, kind, new Set()))));
  }
  return result;
}
