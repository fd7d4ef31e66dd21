import { generateLoad } from '../load/generator.ts';
import type { LoadOptions } from '../load/shape.ts';

// The dashboard's traffic switch, run inside the client host: `rate` requests a second to the
// site until `durationS` is over or the dashboard stops it (SIGTERM to its process group). Each
// second's requests are one open-model run of the load generator, started on the second whatever
// became of the last; as each ends, one JSON line: when it began, how many, how many failed, p99.

interface TrafficOptions {
  readonly urls: readonly string[];
  readonly rate: number;
  readonly durationS: number;
  readonly timeoutS: number;
}

const options = JSON.parse(process.argv[2] ?? '') as TrafficOptions;
const second: LoadOptions = { urls: options.urls, requests: options.rate, rate: options.rate, connections: Math.min(options.rate, 20), timeoutS: options.timeoutS };
const started = Date.now();
const running: Promise<void>[] = [];
for (let i = 0; i < options.durationS; i++) {
  const at = started + i * 1000;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
  running.push(
    generateLoad(second).then(
      (r) => void process.stdout.write(JSON.stringify({ at, requests: r.requests, failed: r.failed, p99Ms: r.latencyMs.p99 }) + '\n'),
      (error: Error) => void process.stderr.write(`traffic: ${error.message}\n`),
    ),
  );
}
await Promise.all(running);
