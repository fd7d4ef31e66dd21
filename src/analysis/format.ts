import type { ResolvedStack } from '../design/types.ts';
import { CAPABILITIES, CAPABILITY_TITLES, CATEGORY_NOUNS, CATEGORY_TITLES, FINDING_CATEGORIES, type FindingCategory } from '../design/vocabulary.ts';
import type { CheckReport } from './check.ts';
import type { Finding } from './finding.ts';

// The human view of a check report, grouped as the seeds group their analysis.

/** 99.80%, but never a misleading 100.00% for something short of certain. */
export function percent(p: number): string {
  if (p >= 1) return '100%';
  for (let digits = 2; digits < 8; digits++) {
    const text = (p * 100).toFixed(digits);
    if (Number(text) < 100) return `${text}%`;
  }
  return `${(p * 100).toFixed(8)}%`;
}

function hostLabel(stack: ResolvedStack, name: string): string {
  const host = stack.hosts.find((h) => h.name === name);
  return host ? `${name} (${host.roles.join(', ')})` : name;
}

/** Single points of failure, one entry per host and fix, with the capabilities it breaks. */
function spofLines(stack: ResolvedStack, findings: readonly Finding[]): string[] {
  const groups = new Map<string, { host: string; fix: string; capabilities: string[] }>();
  for (const f of findings.filter((f) => f.hosts.length > 0)) {
    const host = f.hosts[0]!;
    const key = `${host}\n${f.fix}`;
    const group = groups.get(key) ?? { host, fix: f.fix, capabilities: [] };
    group.capabilities.push(CAPABILITY_TITLES[f.capability!]);
    groups.set(key, group);
  }
  const unserved = findings.filter((f) => f.hosts.length === 0).flatMap((f) => [`  ✗ ${f.message}`, `      fix: ${f.fix}`]);
  return [...unserved, ...[...groups.values()].flatMap((g) => [`  ✗ ${hostLabel(stack, g.host)}: its loss alone breaks ${g.capabilities.join(', ')}`, `      fix: ${g.fix}`])];
}

export function formatCheck(stack: ResolvedStack, report: CheckReport): string {
  const lines: string[] = [];
  const flows = stack.flows.filter((f) => f.network !== null);
  const fromClient = flows.filter((f) => f.fromRole === 'client').length;
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  lines.push(`${stack.stack} (${stack.domain}): ${plural(stack.hosts.length, 'host')}, ${plural(flows.length, 'flow')} over the network (${fromClient} from the client)`);
  const byCategory = (c: FindingCategory) => report.findings.filter((f) => f.category === c);
  for (const category of FINDING_CATEGORIES) {
    const findings = byCategory(category);
    lines.push('', CATEGORY_TITLES[category]);
    if (findings.length === 0) {
      lines.push('  ✓ none');
      continue;
    }
    if (category === 'spof') lines.push(...spofLines(stack, findings));
    else for (const f of findings) lines.push(`  ✗ ${f.message}`, `      fix: ${f.fix}`);
  }
  const perHost = [...new Set(stack.hosts.map((h) => h.availability))];
  const assumed = perHost.length === 1 ? `each host ${percent(perHost[0]!)}` : 'per-host figures from the design';
  lines.push('', `Availability (${assumed}, failures independent)`);
  for (const c of CAPABILITIES) {
    const note = c === 'resolve' && stack.dns.mode === 'managed' ? '  managed DNS, outside the stack' : '';
    lines.push(`  ${CAPABILITY_TITLES[c].padEnd(20)}${percent(report.availability[c]).padStart(10)}${note}`);
  }
  // Counted as listed above: a single point of failure is a host, whatever it breaks.
  const shown = (c: FindingCategory) => (c === 'spof' ? new Set(byCategory(c).map((f) => f.hosts[0] ?? f.message)).size : byCategory(c).length);
  const counts = FINDING_CATEGORIES.map((c) => [c, shown(c)] as const).filter(([, n]) => n > 0);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  lines.push(
    '',
    total === 0
      ? 'No findings.'
      : `${total} finding${total === 1 ? '' : 's'}: ${counts.map(([c, n]) => `${n} ${CATEGORY_NOUNS[c][n === 1 ? 0 : 1]}`).join(', ')}`,
  );
  return lines.join('\n') + '\n';
}

export function checkJson(report: CheckReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
