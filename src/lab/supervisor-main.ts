import { readFileSync } from 'node:fs';
import { processStartTime } from './process.ts';
import { Supervisor } from './supervisor.ts';
import type { SpecFile } from './supervisor-types.ts';
import { namespaceTarget } from './target.ts';

// The supervisor process: `supervisor-main <daemons.json> <status.json> <faults.json> <owner pid:start time>`,
// started detached by `up`, stopped with SIGTERM by `down`, told of a changed design with SIGHUP
// and of a healed host with SIGUSR2.

const [specs, status, faults, owner] = process.argv.slice(2);
const supervisor = new Supervisor(JSON.parse(readFileSync(specs!, 'utf8')) as SpecFile, { specs: specs!, status: status!, faults: faults! }, namespaceTarget);

let stopping: Promise<void> | null = null;
const stop = () => {
  stopping ??= supervisor.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', () => void supervisor.apply());
process.on('SIGUSR2', () => void supervisor.heal());

// `up` owns the start: if it is killed before every daemon is ready, nobody would report the
// outcome, so the start is abandoned (daemons stopped) and the status says why.
const [ownerPid, ownerStart] = (owner ?? '').split(':');
const watchOwner = setInterval(() => {
  if (ownerPid && processStartTime(Number(ownerPid)) !== ownerStart) {
    clearInterval(watchOwner);
    void supervisor.abandon('the `up` that started this stack was stopped before every daemon was ready; `npx webstack down` removes what it made');
  }
}, 500);

const started = await supervisor.start();
clearInterval(watchOwner);
console.log(`${new Date().toISOString()} supervisor: ${started ? 'every daemon is ready' : 'start failed; waiting to be stopped'}`);
