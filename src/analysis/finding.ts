import type { ResolvedStack } from '../design/types.ts';
import type { Capability, FindingCategory, Role } from '../design/vocabulary.ts';

/** One thing the analysis found, with what to do about it. */
export interface Finding {
  readonly category: FindingCategory;
  readonly capability: Capability | null;
  readonly hosts: readonly string[];
  /** The roles of those hosts. */
  readonly roles: readonly Role[];
  readonly message: string;
  readonly fix: string;
}

export function finding(stack: ResolvedStack, f: Omit<Finding, 'roles'>): Finding {
  const roles = new Set<Role>();
  for (const name of f.hosts) for (const role of stack.hosts.find((h) => h.name === name)?.roles ?? []) roles.add(role);
  return { category: f.category, capability: f.capability, hosts: f.hosts, roles: [...roles], message: f.message, fix: f.fix };
}

export const hostsWith = (stack: ResolvedStack, role: Role) => stack.hosts.filter((h) => h.roles.includes(role)).map((h) => h.name);

/** "a, b and c" */
export function listing(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
