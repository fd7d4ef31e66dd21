import ipaddr from 'ipaddr.js';
import { UsageError } from '../design/problems.ts';
import { programCommand, REPO_ROOT } from '../entry.ts';
import { LIMITS, type LoadOptions, type LoadResult } from '../load/shape.ts';
import { labError } from './errors.ts';
import { runningHost } from './state.ts';
import type { Target } from './target.ts';

// Load from inside a stack: the generator runs in one of the stack's hosts (the client by
// default), so its traffic can only reach the lab's own addresses; bounded in count, rate and time.


export interface LoadRequest extends LoadOptions {
  /** The host the load comes from. */
  readonly from: string;
}

export const LOAD_DEFAULTS = { requests: 1000, rate: 100, connections: 10, timeoutS: 10 } as const;

export async function loadFrom(home: string, stack: string, request: LoadRequest, target: Target): Promise<LoadResult> {
  const { state, host } = runningHost(home, stack, request.from);
  checkLoadRequest(request, state.networks.map((n) => n.cidr));

  const options: LoadOptions = { urls: request.urls, requests: request.requests, rate: request.rate, connections: request.connections, timeoutS: request.timeoutS, ...(request.newConnections ? { newConnections: true } : {}), ...(request.closed ? { closed: true } : {}), ...(request.timeline ? { timeline: true } : {}), ...(request.writes ? { writes: true } : {}) };
  const budgetMs = (request.requests / request.rate + request.timeoutS + 30) * 1000;
  const run = await target.run(host.namespace, [...programCommand(process.execPath, REPO_ROOT, 'load/main'), JSON.stringify(options)], { allowFailure: true, timeoutMs: budgetMs });
  if (run.exitCode !== 0) {
    throw labError('load-failed', `the load generator on ${request.from} failed${run.exitCode === 124 ? ` (still running after ${Math.round(budgetMs / 1000)} s)` : ''}: ${run.stderr.trim() || `exit status ${run.exitCode}`}`);
  }
  return JSON.parse(run.stdout) as LoadResult;
}

/** Throws a UsageError unless the request is bounded and aims at the stack's own addresses (`cidrs`). */
export function checkLoadRequest(request: LoadOptions, cidrs: readonly string[]): void {
  checkLoadInput(request);
  for (const url of request.urls) checkTarget(url, cidrs);
}

/** The request's own shape: bounds, and URLs that are http:// or https:// URLs. Needs no stack. */
export function checkLoadInput(request: LoadOptions): void {
  checkBounds(request);
  for (const url of request.urls) parseUrl(url);
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`'${raw}' is not a URL; write it like http://www.foobar.com/api/posts.`);
  }
  // HTTPS is loaded as a browser would, but without verifying the certificate (curl and audit do that).
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`'${raw}': only http:// and https:// URLs can be loaded.`);
  return url;
}

function checkBounds(request: LoadOptions): void {
  const bounds: [keyof typeof LIMITS, number][] = [
    ['requests', request.requests],
    ['rate', request.rate],
    ['connections', request.connections],
    ['timeoutS', request.timeoutS],
  ];
  for (const [name, value] of bounds) {
    if (!Number.isInteger(value) || value < 1 || value > LIMITS[name]) throw new UsageError(`load ${name} must be a whole number from 1 to ${LIMITS[name]}, not ${value}.`);
  }
  if (request.urls.length === 0) throw new UsageError('say which URL to load.');
}

/** A URL must name a lab address, loopback, or a name (which only the lab's DNS answers there). */
function checkTarget(raw: string, cidrs: readonly string[]): void {
  const url = parseUrl(raw);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(hostname)) return;
  const address = ipaddr.process(hostname);
  const inLab = address.range() === 'loopback' || cidrs.some((cidr) => {
    const [network, prefix] = ipaddr.parseCIDR(cidr);
    return address.kind() === network.kind() && address.match([network, prefix]);
  });
  if (!inLab) throw new UsageError(`${hostname} is not an address of this stack (${cidrs.join(', ')}); load goes to the lab's own addresses only.`);
}
