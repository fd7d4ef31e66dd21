import { loadDesign } from './src/design/load.ts';
import { topology } from './src/plan/topology.ts';
import { renderFirewall } from './src/plan/firewall.ts';
const { stack } = await loadDesign(process.argv[2]!);
const w = topology(stack);
for (const h of w.hosts) { const r = renderFirewall(stack, w, h); if (r && (!process.argv[3] || h.name === process.argv[3])) { console.log(r); } }
