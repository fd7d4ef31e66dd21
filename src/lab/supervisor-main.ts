import { readFileSync } from 'node:fs';
import type { DaemonSpec } from '../daemons/types.ts';
import { Supervisor } from './supervisor.ts';

// The supervisor process: `node --import tsx supervisor-main.ts <daemons.json> <status.json> <faults.json>`,
// started detached by `up`, stopped with SIGTERM by `down`, told by `heal` with SIGUSR2.

const [specFile, statusFile, faultsFile] = process.argv.slice(2);
const specs = JSON.parse(readFileSync(specFile!, 'utf8')) as DaemonSpec[];
const supervisor = new Supervisor(specs, statusFile!, faultsFile!);

let stopping: Promise<void> | null = null;
const stop = () => {
  stopping ??= supervisor.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', () => undefined);
process.on('SIGUSR2', () => void supervisor.heal());

const started = await supervisor.start();
console.log(`${new Date().toISOString()} supervisor: ${started ? 'every daemon is ready' : 'start failed; waiting to be stopped'}`);
