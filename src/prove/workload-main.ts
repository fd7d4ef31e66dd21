import { runWorkload, type WorkloadOptions } from './workload.ts';

// Run inside the client host by `ip netns exec`: `node … workload-main '<options as JSON>'`.
// Prints every operation as one JSON array on stdout; anything else goes to stderr.

try {
  const options = JSON.parse(process.argv[2] ?? '') as WorkloadOptions;
  process.stdout.write(JSON.stringify(await runWorkload(options)) + '\n');
} catch (error) {
  process.stderr.write(`workload: ${(error as Error).message}\n`);
  process.exit(1);
}
