import { CAPABILITIES } from '../design/vocabulary.ts';
import type { ProveReport } from '../lab/prove.ts';
import { verdictGrid } from './verdict.ts';

// `prove`'s verdict as text: one row per host, one column per capability, `check`'s prediction
// against what each fault showed; then the writes.

const MARK = { survived: 'ok', broken: 'BROKEN', unobserved: '-' } as const;

export function formatProve(report: ProveReport): string {
  const lines: string[] = [];
  const { hosts, faults, row: rowOf } = verdictGrid(report.verdict);
  lines.push('', `verdict: what users saw against what \`check\` predicted (a capability survives a fault when nothing fails later than ${(report.budgetMs / 1000).toFixed(1)} s after it)`);
  const header = ['host', ...CAPABILITIES.map((c) => c)];
  const rows = hosts.map((host) => [
    host,
    ...CAPABILITIES.map((capability) => {
      const row = rowOf(host, capability);
      const predicted = `${row.predicted === 'outside' ? 'not predicted' : row.predicted}${row.partition ? ` (partition: ${row.partition.predicted})` : ''}`;
      const observed = faults.map((f) => MARK[row.observed[f] ?? 'unobserved']).join('/');
      return `${row.agrees ? '' : '✗ '}${predicted}: ${observed}`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  lines.push(line(header), ...rows.map(line));
  lines.push(`  (each cell: check's prediction for the host's loss, then what ${faults.join('/')} showed; ✗ where they disagree${report.verdict.some((v) => v.predicted === 'outside') ? "; 'not predicted': a host the design does not own, the lab's stand-in for a managed DNS" : ''})`);
  const partitions = [...new Set(report.verdict.flatMap((v) => (v.partition ? [v.partition.why] : [])))];
  for (const why of partitions) lines.push(`  (partition: ${why})`);

  const c = report.consistency;
  lines.push('', `writes: ${c.acknowledged} acknowledged, ${c.refused} refused, ${c.indeterminate} of unknown outcome (${c.indeterminateStored} of them stored)`);
  for (const server of c.servers) {
    const problems = [
      server.missing.length ? `${server.missing.length} acknowledged missing (${server.missing.slice(0, 5).join(', ')}${server.missing.length > 5 ? ', …' : ''})` : '',
      server.duplicated.length ? `${server.duplicated.length} stored twice (${server.duplicated.slice(0, 5).join(', ')})` : '',
      server.refusedButStored.length ? `${server.refusedButStored.length} refused but stored (${server.refusedButStored.slice(0, 5).join(', ')})` : '',
    ].filter(Boolean);
    lines.push(`  ${server.host}: ${problems.length ? `✗ ${problems.join('; ')}` : 'every acknowledged write, once; no refused one'}`);
  }
  lines.push(
    c.readYourWritesViolations.length === 0
      ? '  read-your-writes: every session read its own last write back'
      : `  ✗ read-your-writes: ${c.readYourWritesViolations.length} time${c.readYourWritesViolations.length === 1 ? '' : 's'} a session did not find its own acknowledged write (${c.readYourWritesViolations
          .slice(0, 3)
          .map((v) => `session ${v.session}, post ${v.postId}, at ${new Date(v.at).toISOString()}${v.servedBy ? `, by ${v.servedBy}` : ''}${v.readFrom ? ` from ${v.readFrom}` : ''}`)
          .join('; ')})`,
  );
  const disagreements = report.verdict.filter((v) => !v.agrees);
  lines.push(
    '',
    report.ok
      ? `${report.stack}: proved in ${report.durationS} s: every observation agrees with check, and no write was lost.`
      : `${report.stack}: ✗ not proved (${report.durationS} s): ${[
          disagreements.length ? `${disagreements.length} disagreement${disagreements.length === 1 ? '' : 's'} with check (${disagreements.map((d) => `${d.host} ${d.capability}`).join(', ')})` : '',
          c.ok ? '' : 'the writes do not add up',
        ]
          .filter(Boolean)
          .join('; ')}.`,
  );
  return lines.join('\n') + '\n';
}
