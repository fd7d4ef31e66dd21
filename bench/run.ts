import { performance } from 'node:perf_hooks';
import { check } from '../src/analysis/check.ts';
import { BLUEPRINTS } from '../src/blueprints/index.ts';
import { loadDesign } from '../src/design/load.ts';
import { renderMermaid } from '../src/diagram/mermaid.ts';
import { diagramModel } from '../src/diagram/model.ts';
import { renderSvg } from '../src/diagram/svg.ts';

// Medians of repeated runs, all in one process, so ratios between rows compare like with like.

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

async function median(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn(); // warm-up: module loading and JIT do not belong in the figure
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

console.log(`webstack bench: median of ${RUNS} runs, milliseconds`);
console.log('blueprint      load+resolve    check    mermaid       svg   svg/check');
for (const name of BLUEPRINTS) {
  const { stack } = await loadDesign(name);
  const load = await median(() => loadDesign(name));
  const analyse = await median(() => check(stack));
  const mermaid = await median(() => renderMermaid(diagramModel(stack)));
  const svg = await median(() => renderSvg(diagramModel(stack)));
  const f = (n: number) => n.toFixed(2).padStart(9);
  console.log(`${name.padEnd(12)}${f(load)}    ${f(analyse)}${f(mermaid)}${f(svg)}  ${(svg / analyse).toFixed(1).padStart(9)}x`);
}
