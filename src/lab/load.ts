import ipaddr from 'ipaddr.js';
import { execa } from 'execa';
import { LIMITS, type LoadOptions, type LoadResult } from '../load/generator.ts';
import { LabError } from './preflight.ts';
import { runningHost } from './status.ts';

// Load from inside a stack: the generator runs in one of the stack's hosts (the client by
// default), so its traffic can only reach the lab's own addresses; bounded in count, rate and time.

const GENERATOR = new URL('../load/main.ts', import.meta.url).pathname;

export interface LoadRequest extends LoadOptions {
  /** The host the load comes from. */
  readonly from: string;
}

export const LOAD_DEFAULTS = { requests: 1000, rate: 100, connections: 10, timeoutS: 10 } as const;

export async function loadFrom(home: string, stack: string, request: LoadRequest): Promise<LoadResult> {
  const { state, host } = runningHost(home, stack, request.from);
  checkLoadRequest(request, state.networks.map((n) => n.cidr));

  const options: LoadOptions = { urls: request.urls, requests: request.requests, rate: request.rate, connections: request.connections, timeoutS: request.timeoutS };
  const budgetMs = (request.requests / request.rate + request.timeoutS + 30) * 1000;
  const run = await execa('ip', ['netns', 'exec', host.namespace, process.execPath, '--import', 'tsx', GENERATOR, JSON.stringify(options)], {
    cwd: new URL('../..', import.meta.url).pathname,
    reject: false,
    timeout: budgetMs,
  });
  if (run.exitCode !== 0) {
    throw new LabError(`the load generator on ${request.from} failed${run.timedOut ? ` (still running after ${Math.round(budgetMs / 1000)} s)` : ''}: ${String(run.stderr).trim() || `exit status ${run.exitCode}`}`);
  }
  return JSON.parse(String(run.stdout)) as LoadResult;
}

/** Throws a LabError unless the request is bounded and aims at the stack's own addresses (`cidrs`). */
export function checkLoadRequest(request: LoadOptions, cidrs: readonly string[]): void {
  checkBounds(request);
  for (const url of request.urls) checkTarget(url, cidrs);
}

function checkBounds(request: LoadOptions): void {
  const bounds: [keyof typeof LIMITS, number][] = [
    ['requests', request.requests],
    ['rate', request.rate],
    ['connections', request.connections],
    ['timeoutS', request.timeoutS],
  ];
  for (const [name, value] of bounds) {
    if (!Number.isInteger(value) || value < 1 || value > LIMITS[name]) throw new LabError(`load ${name} must be a whole number from 1 to ${LIMITS[name]}, not ${value}.`);
  }
  if (request.urls.length === 0) throw new LabError('say which URL to load.');
}

/** A URL must name a lab address, loopback, or a name (which only the lab's DNS answers there). */
function checkTarget(raw: string, cidrs: readonly string[]): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LabError(`'${raw}' is not a URL; write it like http://www.foobar.com/api/posts.`);
  }
  if (url.protocol !== 'http:') throw new LabError(`'${raw}': only http:// URLs can be loaded.`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(hostname)) return;
  const address = ipaddr.process(hostname);
  const inLab = address.range() === 'loopback' || cidrs.some((cidr) => {
    const [network, prefix] = ipaddr.parseCIDR(cidr);
    return address.kind() === network.kind() && address.match([network, prefix]);
  });
  if (!inLab) throw new LabError(`${hostname} is not an address of this stack (${cidrs.join(', ')}); load goes to the lab's own addresses only.`);
}
