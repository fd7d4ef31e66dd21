import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDesign } from '../src/design/load.ts';
import { down } from '../src/lab/down.ts';
import { readState } from '../src/lab/state.ts';
import { namespaceTarget } from '../src/lab/target.ts';
import { up } from '../src/lab/up.ts';
import { webstackHome } from '../src/plan/paths.ts';

// `webstack dashboard` measured on distributed: how long a fault takes to reach the page (from the
// kill asked of the API to the server-sent view that shows the host faulted; median of 5), and
// what the dashboard process costs (memory, CPU) while the stack takes 100 requests a second from
// the dashboard's own traffic switch. Run alone with `node --import tsx bench/dashboard.ts`, or in
// `npm run bench`.

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const home = webstackHome();
const lab = { home, target: namespaceTarget, say: () => undefined };
const install = { repoRoot, node: process.execPath, compiled: false };
const CLOCK_TICKS = 100;

export async function benchDashboard(): Promise<void> {
  const stack = 'bench-dash';
  console.log('\ndashboard on distributed');
  try {
    if (readState(home, stack)) await down(stack, { ...lab, volumes: true });
    await up((await loadDesign('distributed')).stack, { ...lab, name: stack, install, designRef: 'distributed' });
    const dashboard = spawn(process.execPath, [join(repoRoot, 'bin', 'webstack.js'), 'dashboard', '--stack', stack, '--no-open'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = new URL(await new Promise<string>((resolve) => {
        let out = '';
        dashboard.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const found = out.match(/(http:\/\/\S+\?token=\S+)/);
          if (found) resolve(found[1]!);
        });
      }));
      const token = url.searchParams.get('token')!;
      const headers = { 'x-webstack-token': token, 'content-type': 'application/json' };
      const post = (path: string, body: unknown = {}) => fetch(new URL(path, url), { method: 'POST', headers, body: JSON.stringify(body) }).then((r) => r.json());

      // Every view the page would get, as it comes.
      const views: { at: number; state: string }[] = [];
      const events = await fetch(new URL('/api/events', url), { headers });
      void (async () => {
        const reader = events.body!.getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          buffer += new TextDecoder().decode(value);
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!message.startsWith('event: state')) continue;
            const view = JSON.parse(message.slice(message.indexOf('data: ') + 6)) as { hosts: { name: string; state: string }[] };
            views.push({ at: Date.now(), state: view.hosts.find((h) => h.name === 'server-02')!.state });
          }
        }
      })();

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const asked = Date.now();
        await post('/api/hosts/server-02/fail', { how: 'kill' });
        while (!views.some((v) => v.at >= asked && v.state === 'faulted')) await new Promise((r) => setTimeout(r, 5));
        latencies.push(views.find((v) => v.at >= asked && v.state === 'faulted')!.at - asked);
        await post('/api/hosts/server-02/heal');
      }
      latencies.sort((a, b) => a - b);
      console.log(`  a kill to the page: median ${latencies[2]} ms of 5 (${latencies.join(', ')} ms), from the request to the view that shows it`);

      /** The dashboard process's share of a core over `ms`, and its resident memory at the end. */
      const usage = async (ms: number) => {
        const cpuS = () => {
          const fields = readFileSync(`/proc/${dashboard.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
        };
        const [before, at] = [cpuS(), Date.now()];
        await new Promise((r) => setTimeout(r, ms));
        const share = (cpuS() - before) / ((Date.now() - at) / 1000);
        return `${(Number(readFileSync(`/proc/${dashboard.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024).toFixed(0)} MB and ${(share * 100).toFixed(1)} % of a core`;
      };
      const idle = await usage(10_000);
      await post('/api/traffic', { rate: 100 });
      const busy = await usage(20_000);
      await post('/api/traffic', { rate: 0 });
      console.log(`  the dashboard process: ${idle} with the stack idle; ${busy} under 100 requests a second (its traffic generator runs in the client, apart)`);
      await events.body?.cancel().catch(() => undefined);
    } finally {
      dashboard.kill('SIGTERM');
    }
  } finally {
    if (readState(home, stack)) await down(stack, { ...lab, volumes: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDashboard();
