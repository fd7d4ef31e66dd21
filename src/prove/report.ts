import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { CAPABILITY_TITLES, CAPABILITIES } from '../design/vocabulary.ts';
import type { ResolvedStack } from '../design/types.ts';
import { diagramModel } from '../diagram/model.ts';
import { renderSvg } from '../diagram/svg.ts';
import type { ProveReport, ProvedFault } from '../lab/prove.ts';
import { verdictGrid } from './verdict.ts';

// `prove --report`: one self-contained HTML page (no script, no request to anywhere) with the
// stack's diagram, the verdict table, the writes, and one chart per fault: the operations due
// each half second by outcome, with the fault and the heal marked. The charts are Vega-Lite specs
// rendered to SVG by Vega itself, here, without a browser.

const OUTCOME_COLOURS = { ok: '#2e7d32', failed: '#c62828', indeterminate: '#ef6c00' } as const;

export async function proveReportHtml(report: ProveReport, design: ResolvedStack): Promise<string> {
  const diagram = await renderSvg(diagramModel(design));
  const charts = await Promise.all(report.faults.map((f) => faultChart(f)));
  const { hosts, faults, row: rowOf } = verdictGrid(report.verdict);
  const verdictRows = hosts
    .map((host) => {
      const cells = CAPABILITIES.map((capability) => {
        const row = rowOf(host, capability);
        const observed = faults.map((f) => `<span class="${row.observed[f] ?? 'unobserved'}">${f}: ${row.observed[f] ?? '-'}</span>`).join(' ');
        const predicted = row.predicted === 'outside' ? 'not predicted' : row.predicted;
        const partition = row.partition ? ` (partition: ${row.partition.predicted})` : '';
        return `<td class="${row.agrees ? 'agrees' : 'disagrees'}"><b>${predicted}</b>${partition}<br>${observed}</td>`;
      });
      return `<tr><th>${escape(host)}</th>${cells.join('')}</tr>`;
    })
    .join('\n');
  const c = report.consistency;
  const servers = c.servers
    .map((s) => {
      const problems = [s.missing.length ? `${s.missing.length} acknowledged missing` : '', s.duplicated.length ? `${s.duplicated.length} stored twice` : '', s.refusedButStored.length ? `${s.refusedButStored.length} refused but stored` : ''].filter(Boolean);
      return `<li class="${problems.length ? 'disagrees' : 'agrees'}">${escape(s.host)}: ${problems.length ? escape(problems.join('; ')) : 'every acknowledged write, once; no refused one'}</li>`;
    })
    .join('\n');
  const sections = report.faults
    .map((f, i) => {
      const measures = f.measures
        .map((m) => `<tr><th>${CAPABILITY_TITLES[m.capability]}</th><td class="${m.observed}">${m.observed}</td><td>${m.failed} of ${m.operations}</td><td>${m.errorWindowMs ? `${(m.errorWindowMs.first / 1000).toFixed(1)} to ${(m.errorWindowMs.last / 1000).toFixed(1)} s` : '-'}</td><td>${(m.recoveryMs / 1000).toFixed(1)} s</td><td>${m.p99Ms} ms</td></tr>`)
        .join('');
      return `<section class="fault"><h3>${escape(f.host)} ${f.how}${f.partition ? ` from ${escape(f.partition.from.join(', '))}` : ''}</h3>
<div class="chart">${charts[i]}</div>
<table class="measures"><tr><th></th><th>while down</th><th>failed</th><th>failures, from the fault</th><th>after heal</th><th>p99</th></tr>${measures}</table>
<p class="note">Held ${(f.holdMs / 1000).toFixed(1)} s, healed in ${(f.healMs / 1000).toFixed(1)} s; ${f.operations} operations in all.</p></section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webstack prove: ${escape(report.stack)}</title>
<style>
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.agrees, li.agrees { background: #eefaf0; } td.disagrees, li.disagrees { background: #fdecea; }
.broken { color: #c62828; font-weight: bold; } .survived { color: #2e7d32; } .unobserved { color: #888; }
.verdict { font-size: 1.2em; padding: 0.5em 1em; display: inline-block; } .verdict.ok { background: #eefaf0; } .verdict.not-ok { background: #fdecea; }
.diagram svg { max-width: 100%; height: auto; } .fault { display: inline-block; vertical-align: top; margin: 0 2em 2em 0; } .note { color: #555; font-size: 0.9em; }
</style></head>
<body>
<h1>webstack prove: ${escape(report.stack)}</h1>
<p class="verdict ${report.ok ? 'ok' : 'not-ok'}">${report.ok ? 'Proved: every observation agrees with check, and no write was lost.' : 'Not proved: see the rows and writes marked in red.'}</p>
<p>${report.faults.length} faults in ${report.durationS} s (run ${escape(report.run)}${report.seed === null ? '' : `, in the order of seed ${report.seed}`}). A capability survives a fault when nothing fails later than ${(report.budgetMs / 1000).toFixed(1)} s after it.</p>
<div class="diagram">${diagram}</div>
<h2>Verdict: what users saw against what check predicted</h2>
<table id="verdict"><tr><th>host</th>${CAPABILITIES.map((cap) => `<th>${CAPABILITY_TITLES[cap]}</th>`).join('')}</tr>
${verdictRows}
</table>
${[...new Set(report.verdict.flatMap((v) => (v.partition ? [v.partition.why] : [])))].map((why) => `<p class="note">Partition: ${escape(why)}.</p>`).join('\n')}
<h2>Writes</h2>
<p>${c.acknowledged} acknowledged, ${c.refused} refused, ${c.indeterminate} of unknown outcome (${c.indeterminateStored} of them stored).</p>
<ul>${servers}
<li class="${c.readYourWritesViolations.length ? 'disagrees' : 'agrees'}">read-your-writes: ${c.readYourWritesViolations.length ? `${c.readYourWritesViolations.length} violations` : 'every session read its own last write back'}</li></ul>
<h2>Faults</h2>
${sections}
</body></html>
`;
}

/** A fault's operations each half second by outcome, the fault at 0, the heal asked for and done marked. */
async function faultChart(fault: ProvedFault): Promise<string> {
  // The slices are counted already (prove/verdict.ts, timelineOf): each bar spans its own half second.
  const values = fault.timeline.flatMap((b) => (['ok', 'failed', 'indeterminate'] as const).map((outcome) => ({ at: b.at, end: b.at + 0.5, outcome, count: b[outcome] })));
  const marks = [
    { at: 0, label: 'fault' },
    { at: fault.holdMs / 1000, label: 'heal' },
    { at: (fault.holdMs + fault.healMs) / 1000, label: 'healed' },
  ];
  const spec: TopLevelSpec = {
    width: 460,
    height: 160,
    background: 'white',
    layer: [
      {
        data: { values },
        mark: { type: 'bar', binSpacing: 0 },
        encoding: {
          x: { field: 'at', type: 'quantitative', title: 'seconds from the fault', bin: { binned: true, step: 0.5 } },
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', aggregate: 'sum', title: 'operations each 0.5 s', stack: 'zero' },
          color: { field: 'outcome', type: 'nominal', scale: { domain: Object.keys(OUTCOME_COLOURS), range: Object.values(OUTCOME_COLOURS) }, title: 'outcome' },
        },
      },
      { data: { values: marks }, mark: { type: 'rule', strokeDash: [4, 3], color: '#333' }, encoding: { x: { field: 'at', type: 'quantitative' } } },
      { data: { values: marks }, mark: { type: 'text', align: 'left', dx: 3, dy: -4, baseline: 'bottom', color: '#333' }, encoding: { x: { field: 'at', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
