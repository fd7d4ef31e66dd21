import { z } from 'zod';
import { CLIENT } from './vocabulary.ts';

// The names a user gives: the stack, its hosts, networks and DNS records. One table says what
// is valid; the schema checks it and explainName() tells a person what is wrong with theirs.

export type NameKind = 'stack' | 'host' | 'network' | 'record';

interface NameRule {
  max: number;
  pattern: RegExp;
  /** What a valid name is, in a person's words. */
  rule: string;
  /** Names webstack gives to something of its own. */
  taken?: Record<string, string>;
}

const START_WITH_LETTER = /^[a-z][a-z0-9-]*$/;
const LETTERS = "lower-case ASCII letters, digits and '-', starting with a letter";

export const NAME_RULES: Record<NameKind, NameRule> = {
  // A stack prefixes every namespace and link name, and Linux allows 15 characters for a link.
  stack: { max: 12, pattern: START_WITH_LETTER, rule: `${LETTERS}, at most 12 characters (it prefixes every namespace and link)` },
  // A host is also a DNS name in the stack's zone and part of its namespace name.
  host: { max: 20, pattern: START_WITH_LETTER, rule: `${LETTERS}, at most 20 characters`, taken: { [CLIENT]: 'the internet user, which the lab runs as a host of its own' } },
  network: { max: 12, pattern: START_WITH_LETTER, rule: `${LETTERS}, at most 12 characters (it names the network's bridge)` },
  record: {
    max: 63,
    pattern: /^(@|[a-z0-9]([a-z0-9-]*[a-z0-9])?)$/,
    rule: "'@' for the domain itself, or a DNS label: at most 63 lower-case ASCII letters, digits and '-', not starting or ending with '-'",
  },
};

export function isValidName(kind: NameKind, text: string): boolean {
  const { max, pattern, taken } = NAME_RULES[kind];
  return text.length <= max && pattern.test(text) && !Object.hasOwn(taken ?? {}, text);
}

/** A zod string that accepts exactly the valid names of `kind`, and says why not in its own words. */
export function nameSchema(kind: NameKind) {
  return z.string().refine((text) => isValidName(kind, text), { error: (issue) => explainName(kind, String(issue.input)) });
}

function quoted(chars: Iterable<string>): string {
  return [...new Set(chars)].map((c) => (c === ' ' ? 'a space' : `'${c}'`)).join(', ');
}

/** What is wrong with `text` as a name of `kind`, what is valid, and a valid name close to it. */
export function explainName(kind: NameKind, text: string): string {
  const { max, rule, taken } = NAME_RULES[kind];
  if (taken && Object.hasOwn(taken, text)) return `the ${kind} name '${text}' is taken by ${taken[text]}; choose another, such as '${text}-1'`;
  const faults: string[] = [];
  if (text === '') faults.push('is empty');
  const nonAscii = [...text].filter((c) => c.charCodeAt(0) > 127);
  if (nonAscii.length) faults.push(`has non-ASCII ${nonAscii.length === 1 ? 'character' : 'characters'} ${quoted(nonAscii)}`);
  if (/[A-Z]/.test(text)) faults.push('has upper-case letters');
  const others = [...text].filter((c) => c.charCodeAt(0) <= 127 && !/[A-Za-z0-9-]/.test(c));
  if (others.length && !(kind === 'record' && text === '@')) faults.push(`has ${quoted(others)}`);
  if (kind === 'record') {
    if (text.startsWith('-') || text.endsWith('-')) faults.push(`${text.startsWith('-') ? 'starts' : 'ends'} with '-'`);
  } else if (/^[^a-zA-Z]/.test(text)) {
    faults.push(`starts with ${/^[0-9]/.test(text) ? 'a digit' : `'${text[0]}'`}`);
  }
  if (text.length > max) faults.push(`has ${text.length} characters`);
  const what = faults.length > 1 ? `${faults.slice(0, -1).join(', ')} and ${faults.at(-1)}` : (faults[0] ?? 'is not valid');
  const suggestion = suggestName(kind, text);
  return `invalid ${kind} name '${text}': it ${what}; a ${kind} name is ${rule}${suggestion ? `; try '${suggestion}'` : ''}`;
}

/** A valid name as close to `text` as a person would write it: 'Web_01' → 'web-01', 'café' → 'cafe'. */
export function suggestName(kind: NameKind, text: string): string | undefined {
  let name = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (kind !== 'record' && /^[0-9]/.test(name)) {
    // A leading number reads as well at the end: '2nd-web' → 'web-2nd', '01web' → 'web-01'.
    const [first, ...rest] = name.split('-');
    const digits = /^[0-9]+/.exec(first!)![0];
    name = rest.length ? [...rest, first].join('-') : `${first!.slice(digits.length)}-${digits}`;
  }
  name = name.slice(0, NAME_RULES[kind].max).replace(/-+$/, '');
  return name && isValidName(kind, name) ? name : undefined;
}
