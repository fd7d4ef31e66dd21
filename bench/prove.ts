import { fileURLToPath } from 'node:url';
import { loadDesign } from '../src/design/load.ts';
import { down } from '../src/lab/down.ts';
import { prove, type ProveReport, type ProveRequest } from '../src/lab/prove.ts';
import { readState } from '../src/lab/state.ts';
import { namespaceTarget } from '../src/lab/target.ts';
import { up } from '../src/lab/up.ts';
import { webstackHome } from '../src/plan/paths.ts';
import { PROVE_FAULTS } from '../src/prove/verdict.ts';

// `prove` timed and summed up: on `distributed` with its default settings (the goal: under 5
// minutes), and on `ha` (every host killed; BENCH_PROVE_HA_FAULTS for more kinds), with every
// figure: the verdict, each fault's windows, and the writes. Run alone with
// `node --import tsx bench/prove.ts`, or in `npm run bench`.

const home = webstackHome();
const lab = { home, target: namespaceTarget, say: () => undefined };
const install = { repoRoot: fileURLToPath(new URL('..', import.meta.url)), node: process.execPath, compiled: false };
const DEFAULTS: ProveRequest = { faults: PROVE_FAULTS, holdMs: 6_000, rate: 100 };

export async function benchProve(): Promise<void> {
  console.log('\nprove: every host broken each way under 100 operations a second');
  await proveBlueprint('distributed', DEFAULTS);
  const haFaults = (process.env.BENCH_PROVE_HA_FAULTS ?? 'kill').split(',') as ProveRequest['faults'];
  await proveBlueprint('ha', { ...DEFAULTS, faults: haFaults });
}

async function proveBlueprint(blueprint: string, request: ProveRequest): Promise<void> {
  const stack = `bench-prove-${blueprint}`;
  try {
    if (readState(home, stack)) await down(stack, { ...lab, volumes: true });
    await up((await loadDesign(blueprint)).stack, { ...lab, name: stack, install, designRef: blueprint });
    const report = await prove(stack, request, lab);
    print(blueprint, report);
  } finally {
    if (readState(home, stack)) await down(stack, { ...lab, volumes: true });
  }
}

function print(blueprint: string, report: ProveReport): void {
  const c = report.consistency;
  const disagreements = report.verdict.filter((v) => !v.agrees);
  const breaking = [...new Set(report.verdict.filter((v) => v.predicted === 'breaks').map((v) => `${v.host} (${report.verdict.filter((w) => w.host === v.host && w.predicted === 'breaks').map((w) => w.capability).join(', ')})`))];
  console.log(`${blueprint}: ${report.faults.length} faults in ${report.durationS} s; ${disagreements.length} disagreements with check${disagreements.length ? ` (${disagreements.map((d) => `${d.host} ${d.capability}`).join(', ')})` : ''}; single points of failure observed: ${breaking.join('; ') || 'none'}`);
  console.log(`  writes: ${c.acknowledged} acknowledged, ${c.refused} refused, ${c.indeterminate} of unknown outcome; lost ${c.servers.reduce((n, s) => n + s.missing.length, 0)}, stored twice ${c.servers.reduce((n, s) => n + s.duplicated.length, 0)}, refused but stored ${c.servers.reduce((n, s) => n + s.refusedButStored.length, 0)}; read-your-writes violations ${c.readYourWritesViolations.length}`);
  console.log('  fault                   failed while down (error window from the fault, s), by capability');
  for (const f of report.faults) {
    const cells = f.measures.map((m) => `${m.capability} ${m.failed}${m.errorWindowMs ? ` (${(m.errorWindowMs.first / 1000).toFixed(1)}-${(m.errorWindowMs.last / 1000).toFixed(1)})` : ''}`);
    console.log(`  ${`${f.host} ${f.how}`.padEnd(22)}  ${cells.join('  ')}; healed in ${(f.healMs / 1000).toFixed(1)} s`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchProve();
