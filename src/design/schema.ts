import { z } from 'zod';
import { nameSchema } from './names.ts';
import { PORTS } from './ports.ts';
import { FAILOVER_MODES, LB_ALGORITHMS, REPLICATION_MODES, ROLES, TLS_MODES } from './vocabulary.ts';

/** Ports of the daemons webstack runs besides the app server. */
const RESERVED_PORTS: readonly number[] = Object.entries(PORTS)
  .filter(([name]) => name !== 'app')
  .map(([, port]) => port);

// The design file as the user writes it. Everything optional here gets its
// default in resolve(), never in later stages.


export const NetworkSchema = z.strictObject({
  cidr: z.cidrv4({ error: 'expected an IPv4 network such as 10.10.0.0/24' }),
  exposure: z.enum(['public', 'private']).optional(),
});

export const HostSchema = z.strictObject({
  roles: z.array(z.enum(ROLES)).min(1, { error: 'a host needs at least one role' }),
  networks: z.array(z.string()).min(1, { error: 'a host needs at least one network' }),
  address: z.union([z.ipv4(), z.record(z.string(), z.ipv4())], {
    error: 'expected an IPv4 address, or a map of network name to IPv4 address',
  }).optional(),
  monitored: z.boolean().optional(),
  availability: z.number().gt(0).lte(1).optional(),
});

const recordTarget = z.union([z.string(), z.array(z.string()).min(1)], {
  error: 'expected a role or host name, or a list of them',
});

export const RecordSchema = z.union(
  [
    z.string(),
    z.array(z.string()).min(1),
    z.strictObject({ to: recordTarget, ttl: z.number().int().min(1).max(86400).optional() }),
  ],
  { error: 'expected a role or host name, a list of them, or { to: ..., ttl: ... }' },
);

export const PoliciesSchema = z.strictObject({
  tls: z.union([z.boolean(), z.strictObject({ mode: z.enum(TLS_MODES) })], { error: 'expected true, false, { mode: edge } or { mode: end-to-end }' }).optional(),
  firewall: z.boolean().optional(),
  lb: z
    .strictObject({
      algorithm: z.enum(LB_ALGORITHMS).optional(),
      virtualIp: z.union([z.boolean(), z.ipv4()], { error: 'expected true, false or an IPv4 address' }).optional(),
    })
    .optional(),
  healthChecks: z
    .strictObject({
      enabled: z.boolean().optional(),
      path: z.string().startsWith('/', { error: "a health-check path starts with '/'" }).optional(),
      intervalMs: z.number().int().min(100).max(60000).optional(),
      fall: z.number().int().min(1).max(10).optional(),
      rise: z.number().int().min(1).max(10).optional(),
    })
    .optional(),
  db: z
    .strictObject({
      replication: z.enum(REPLICATION_MODES).optional(),
      semiSyncTimeoutMs: z.number().int().min(10).max(60000).optional(),
      failover: z.enum(FAILOVER_MODES).optional(),
    })
    .optional(),
  monitoring: z
    .strictObject({
      uptimeCheck: z.boolean().optional(),
      alerting: z.boolean().optional(),
      // Where alerts go besides the lab's own receiver.
      notify: z
        .array(
          z.union([
            z.strictObject({ webhook: z.url({ protocol: /^https?$/, error: 'a webhook is an http:// or https:// URL' }) }),
            z.strictObject({
              email: z.email({ error: 'expected an e-mail address such as ops@foobar.com' }),
              smtp: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { error: 'the SMTP server as host:port, e.g. mail.foobar.com:25' }),
              from: z.email({ error: 'expected an e-mail address such as alerts@foobar.com' }).optional(),
            }),
          ]),
        )
        .optional(),
    })
    .optional(),
  availability: z.number().gt(0).lte(1).optional(),
});

export const StackSchema = z.strictObject({
  stack: nameSchema('stack'),
  domain: z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/, { error: 'expected a domain name such as foobar.com' }),
  description: z.string().optional(),
  networks: z.record(nameSchema('network'), NetworkSchema).optional(),
  records: z.record(nameSchema('record'), RecordSchema).optional(),
  dns: z.strictObject({ ttl: z.number().int().min(1).max(86400).optional() }).optional(),
  hosts: z.record(nameSchema('host'), HostSchema).refine((hosts) => Object.keys(hosts).length > 0, { error: 'a stack needs at least one host' }),
  policies: PoliciesSchema.optional(),
  app: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1, { error: 'a command is a list with at least the program, e.g. [python3, app.py]' }).optional(),
      port: z
        .number()
        .int()
        .min(1024)
        .max(65535)
        .refine((port) => !RESERVED_PORTS.includes(port), { error: `that port belongs to another daemon; avoid ${RESERVED_PORTS.join(', ')}` })
        .optional(),
    })
    .optional(),
});

/** What a user writes: every default left out. */
export type StackDesign = z.input<typeof StackSchema>;
/** What the schema accepts, before resolve() fills in the defaults. */
export type ParsedDesign = z.output<typeof StackSchema>;

/** Typed helper for designs written in TypeScript; validation happens when webstack loads the file. */
export function defineStack(design: StackDesign): StackDesign {
  return design;
}

export function jsonSchema(): object {
  return {
    ...z.toJSONSchema(StackSchema, { target: 'draft-2020-12' }),
    $id: 'https://webstack.invalid/schema/design.json',
    title: 'webstack design',
  };
}
