import type { z } from 'zod';
import { closest, type Path, type Problem } from './problems.ts';
import { StackSchema } from './schema.ts';

// Turns zod's issues into problems a person can act on: what is wrong and what would be valid.

type AnySchema = { _zod: { def: Record<string, unknown> & { type: string } } };

/** The schema that applies at `path`, unwrapping optionals, records and arrays. */
function schemaAt(path: Path): AnySchema | undefined {
  let schema: AnySchema | undefined = StackSchema as unknown as AnySchema;
  const unwrap = (s: AnySchema): AnySchema => {
    const def = s._zod.def;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') return unwrap(def.innerType as AnySchema);
    return s;
  };
  for (const segment of path) {
    if (!schema) return undefined;
    const def: AnySchema['_zod']['def'] = unwrap(schema)._zod.def;
    if (def.type === 'object') schema = (def.shape as Record<string, AnySchema>)[String(segment)];
    else if (def.type === 'record') schema = def.valueType as AnySchema;
    else if (def.type === 'array') schema = def.element as AnySchema;
    else if (def.type === 'union') {
      const objectOption = (def.options as AnySchema[]).map(unwrap).find((o) => o._zod.def.type === 'object');
      schema = objectOption ? (objectOption._zod.def.shape as Record<string, AnySchema>)[String(segment)] : undefined;
    } else return undefined;
  }
  return schema ? unwrap(schema) : undefined;
}

function keysAt(path: Path): string[] {
  const schema = schemaAt(path);
  if (schema?._zod.def.type === 'object') return Object.keys(schema._zod.def.shape as object);
  if (schema?._zod.def.type === 'union') {
    const objectOption = (schema._zod.def.options as AnySchema[]).find((o) => o._zod.def.type === 'object');
    if (objectOption) return Object.keys(objectOption._zod.def.shape as object);
  }
  return [];
}

const NOUNS: Record<string, string> = { roles: 'role', networks: 'network', exposure: 'exposure', algorithm: 'algorithm', replication: 'replication mode', failover: 'failover mode' };

function nounFor(path: Path): string {
  const key = [...path].reverse().find((s): s is string => typeof s === 'string');
  return (key && NOUNS[key]) ?? 'value';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the text '${value}'`;
  return `${typeof value === 'number' ? 'the number' : typeof value === 'boolean' ? 'the boolean' : typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = { array: 'a list', object: 'a map', record: 'a map', string: 'text', number: 'a number', boolean: 'true or false', int: 'a whole number' };

function valueAt(input: unknown, path: Path): unknown {
  let v = input;
  for (const segment of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[segment];
  }
  return v;
}

export function problemsFromZod(error: z.ZodError, input: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = issue.path as Path;
    const value = valueAt(input, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const valid = keysAt(path);
        for (const key of issue.keys) {
          const guess = closest(key, valid);
          problems.push({
            path: [...path, key],
            at: 'key',
            message: `unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ''} (valid keys here: ${valid.join(', ')})`,
          });
        }
        break;
      }
      case 'invalid_key':
        // A name the user chose as a map key (a host, network or record): the key is what is wrong.
        for (const inner of issue.issues) problems.push({ path, at: 'key', message: inner.message });
        break;
      case 'invalid_value': {
        const choices = issue.values.map(String);
        const guess = typeof value === 'string' ? closest(value, choices) : undefined;
        const shown = typeof value === 'string' ? `'${value}'` : describe(value);
        problems.push({ path, message: `unknown ${nounFor(path)} ${shown}${guess ? `; did you mean '${guess}'?` : ''} (valid: ${choices.join(', ')})` });
        break;
      }
      case 'invalid_type': {
        if (value === undefined) {
          problems.push({ path, message: `missing required key '${String(path[path.length - 1])}' (expected ${EXPECTED[issue.expected] ?? issue.expected})` });
        } else {
          problems.push({ path, message: `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(value)}` });
        }
        break;
      }
      case 'too_small':
      case 'too_big': {
        // Our own messages say it better than zod's defaults when we gave one.
        const generic = /^Too (small|big)/.test(issue.message);
        const bound = issue.code === 'too_small' ? `at least ${issue.inclusive === false ? 'more than ' : ''}${issue.minimum}` : `at most ${issue.maximum}`;
        problems.push({ path, message: generic ? `expected ${bound}, got ${describe(value)}` : issue.message });
        break;
      }
      default:
        // Our own "expected ..." messages say what was expected; what was found is added here.
        problems.push({ path, message: issue.message.startsWith('Invalid input') ? `invalid value ${describe(value)}` : issue.message.startsWith('expected ') && value !== undefined ? `${issue.message}, got ${describe(value)}` : issue.message });
    }
  }
  return problems;
}
