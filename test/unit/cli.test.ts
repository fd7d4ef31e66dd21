import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, repoRoot, STACK_FRAME } from '../helpers.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'webstack-cli-'));

describe('webstack check', () => {
  it('exits 0 on a valid design whatever it finds, and 1 with --strict when it finds anything', async () => {
    assert.equal((await cli('check', 'distributed')).code, 0);
    assert.equal((await cli('check', 'distributed', '--strict')).code, 1);
    assert.equal((await cli('check', 'ha')).code, 0);
    // ha's one finding: its database cluster of three goes on without any one member, not two.
    const ha = JSON.parse((await cli('check', 'ha', '--json')).stdout);
    assert.deepEqual(ha.findings.map((f: { category: string; hosts: string[] }) => [f.category, f.hosts]), [['failover', ['db-01', 'db-02', 'db-03']]]);
    assert.equal((await cli('check', 'ha', '--strict')).code, 1);
  });

  it('prints one JSON object with stack, findings and availability', async () => {
    const report = JSON.parse((await cli('check', 'distributed', '--json')).stdout);
    assert.deepEqual(Object.keys(report), ['stack', 'findings', 'availability']);
    assert.deepEqual(Object.keys(report.availability), ['resolve', 'static', 'read', 'write']);
    assert.deepEqual(Object.keys(report.findings[0]), ['category', 'capability', 'hosts', 'roles', 'message', 'fix']);
    assert.deepEqual(report.findings[0].roles, ['lb']);
  });

  it('says which blueprints exist when the design is neither a file nor a blueprint', async () => {
    const r = await cli('check', 'distribted');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no design file 'distribted' and no blueprint of that name; did you mean 'distributed'\? \(blueprints: simple, distributed/);
  });

  it('loads a design written in TypeScript with defineStack', async () => {
    const r = await cli('check', 'test/fixtures/design.ts', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).stack, 'typed');
  });

  it('reports a broken TypeScript design by path', async () => {
    const r = await cli('check', 'test/fixtures/broken-design.ts');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /test\/fixtures\/broken-design\.ts: hosts\.lb-01\.roles\[1\]: unknown role 'wbe'; did you mean 'web'\?/);
  });
});

describe('webstack init', () => {
  it('writes a blueprint out as YAML that checks the same as the blueprint', async () => {
    const file = join(scratch(), 'design.yaml');
    const r = await cli('init', 'secured', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(file, 'utf8'), /^# secured:/);
    assert.equal((await cli('check', file, '--json')).stdout, (await cli('check', 'secured', '--json')).stdout);
  });

  it('refuses to overwrite a file without --force, and leaves it as it was', async () => {
    const file = join(scratch(), 'design.yaml');
    writeFileSync(file, 'mine');
    const r = await cli('init', 'simple', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists; pass --force/);
    assert.equal(readFileSync(file, 'utf8'), 'mine');
    assert.equal((await cli('init', 'simple', file, '--force')).code, 0);
  });

  it('suggests the blueprint meant', async () => {
    const r = await cli('init', 'scale', join(scratch(), 'x.yaml'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown blueprint 'scale'; did you mean 'scaled'\?/);
  });
});

describe('webstack diagram and schema', () => {
  it('writes mermaid to stdout and svg to a file', async () => {
    assert.match((await cli('diagram', 'simple', '--format', 'mermaid')).stdout, /^---\ntitle: .*\n---\nflowchart LR\n/);
    const file = join(scratch(), 'd.svg');
    assert.equal((await cli('diagram', 'simple', '-o', file)).code, 0);
    assert.match(readFileSync(file, 'utf8'), /^<svg /);
  });

  it('rejects an unknown format with exit 2', async () => {
    const r = await cli('diagram', 'simple', '--format', 'png');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Allowed choices are svg, mermaid/);
  });

  it('prints a JSON Schema that knows every role', async () => {
    const schema = JSON.parse((await cli('schema')).stdout);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const roles = schema.properties.hosts.additionalProperties.properties.roles.items.enum;
    assert.deepEqual(roles, ['lb', 'web', 'app', 'db-primary', 'db-replica', 'db', 'cache', 'monitoring', 'dns']);
  });
});

describe('webstack fail and load, on bad input', () => {
  it('prove refuses a fault it does not make, and a hold past two minutes, with exit 2 before looking for a stack', async () => {
    const unknown = await cli('prove', '--faults', 'kill,explode');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--faults 'kill,explode': 'explode' is not a fault prove makes; use some of: kill, freeze, cut, restart, partition\./);
    const seed = await cli('prove', '--seed', 'soon');
    assert.equal(seed.code, 2);
    assert.match(seed.stderr, /'soon' is not a whole number/);
    const long = await cli('prove', '--hold', '5m');
    assert.equal(long.code, 2);
    assert.match(long.stderr, /--hold 5m: at most 2m per fault\./);
    assert.doesNotMatch(unknown.stderr + long.stderr, STACK_FRAME);
  });

  it('refuses a way to fail it does not know, with exit 2 and the ways it knows', async () => {
    const r = await cli('fail', 'server-01', '--how', 'explode');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--how 'explode' is not a way to fail; use one of: kill, freeze, cut, restart, partition\./);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  it('refuses a partition without two sides, with a host on both, or sides given to another fault, with exit 2', async () => {
    for (const [args, said] of [
      [['fail', 'lb-01', '--how', 'partition'], /a partition has two sides: fail <host> --how partition --to <host,...>/],
      [['fail', '--how', 'partition', '--to', 'lb-01'], /a partition has two sides/],
      [['fail', 'lb-01', '--how', 'partition', '--from', 'web-01', '--to', 'web-01,db-01'], /web-01 cannot be on both sides of a partition/],
      [['fail', 'lb-01', '--how', 'kill', '--to', 'web-01'], /--from and --to are for --how partition; --how kill breaks one host/],
      [['fail'], /fail needs a host/],
    ] as const) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, said);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    }
  });

  it('refuses a request count that is not a whole number, with exit 2', async () => {
    const r = await cli('load', 'http://www.foobar.com/', '-n', 'lots');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /'lots' is not a whole number/);
  });

  it('refuses every kind of bad load request with exit 2, before looking for a stack', async () => {
    for (const [args, said] of [
      [['-n', '0'], /load requests must be a whole number from 1 to 100000, not 0/],
      [['-r', '-5'], /'-5' is not a whole number|unknown option/],
    ] as const) {
      const r = await cli('load', 'http://www.foobar.com/', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, said);
    }
    const url = await cli('load', 'not a url');
    assert.equal(url.code, 2);
    assert.match(url.stderr, /'not a url' is not a URL/);
  });

  it('says there is no such stack before saying it goes down', async () => {
    const r = await cli('down', 'nosuch-webstack-test');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /there is no stack named 'nosuch-webstack-test'/);
    assert.match(r.stderr, /fix: npx webstack ls/);
  });
});

describe('the installed command', () => {
  it('runs as npx webstack would, and shows no stack trace on bad input', () => {
    const r = spawnSync(process.execPath, [`${repoRoot}bin/webstack.js`, 'check', 'test/broken/two-primaries.yaml'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /a second db-primary/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
    const ok = spawnSync(process.execPath, [`${repoRoot}bin/webstack.js`, 'check', 'simple'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(ok.status, 0);
    assert.match(ok.stdout, /server-01 \(web, app, db-primary\): its loss alone breaks/);
  });
});
