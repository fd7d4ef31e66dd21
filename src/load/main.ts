import { generateLoad, type LoadOptions } from './generator.ts';

// Run inside a lab host's namespace by `ip netns exec`: `node --import tsx main.ts '<options as JSON>'`.
// Prints the result as one line of JSON on stdout; anything else goes to stderr.

try {
  const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
  process.stdout.write(JSON.stringify(await generateLoad(options)) + '\n');
} catch (error) {
  process.stderr.write(`load: ${(error as Error).message}\n`);
  process.exit(1);
}
