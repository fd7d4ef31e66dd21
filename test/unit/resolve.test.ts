import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadDesign } from '../../src/design/load.ts';
import { explainName, isValidName, suggestName, type NameKind } from '../../src/design/names.ts';
import { DesignError } from '../../src/design/problems.ts';
import { designFrom } from '../helpers.ts';

describe('resolve turns a design into a frozen, fully defaulted one', () => {
  it('allocates host addresses from .10 in declaration order, the client at .2, the machine at .1', async () => {
    const { stack } = await loadDesign('distributed');
    assert.deepEqual(
      stack.hosts.map((h) => [h.name, h.addresses]),
      [
        ['lb-01', { public: '203.0.113.42', private: '10.71.32.10' }],
        ['server-01', { private: '10.71.32.11' }],
        ['server-02', { private: '10.71.32.12' }],
      ],
    );
    assert.deepEqual(stack.client.addresses, { public: '203.0.113.34' });
    assert.equal(stack.networks.find((n) => n.name === 'public')?.gateway, '203.0.113.33');
  });

  it('keeps fixed addresses and allocates around them', () => {
    const { stack } = designFrom(`
stack: fixed
domain: foobar.com
hosts:
  a: { roles: [web, app, db-primary], networks: [public], address: 203.0.113.10 }
  b: { roles: [web, app], networks: [public] }
`);
    assert.deepEqual(stack.hosts.map((h) => h.addresses.public), ['203.0.113.10', '203.0.113.11']);
  });

  it('defaults networks to documentation and private ranges, and www to the entry tier', () => {
    const { stack } = designFrom(`
stack: defaults
domain: foobar.com
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  s-01: { roles: [web, app, db-primary], networks: [private] }
`);
    assert.deepEqual(stack.networks.map((n) => [n.name, n.cidr, n.exposure]), [['public', '203.0.113.0/24', 'public'], ['private', '10.10.0.0/24', 'private']]);
    assert.deepEqual(stack.records.map((r) => [r.fqdn, r.addresses, r.hosts]), [['www.foobar.com', ['203.0.113.10'], ['lb-01']]]);
    assert.equal(stack.policies.healthChecks.path, '/healthz');
    assert.equal(stack.policies.availability, 0.999);
  });

  it('gives two lbs with virtualIp one shared address at the top of the public range, and a Galera cluster its write address at the top of the private one', async () => {
    const { stack } = await loadDesign('ha');
    assert.deepEqual(stack.virtualIps, [
      { address: '203.0.113.158', network: 'public', role: 'lb', holders: ['lb-01', 'lb-02'] },
      { address: '10.71.128.254', network: 'private', role: 'db', holders: ['db-01', 'db-02', 'db-03'] },
    ]);
    const www = stack.records.find((r) => r.name === 'www')!;
    assert.deepEqual([www.addresses, www.redundancy], [['203.0.113.158'], 'virtual-ip']);
  });

  it('points a record at a role with several hosts as several A records', async () => {
    const www = (await loadDesign('scaled')).stack.records[0]!;
    assert.deepEqual([www.addresses, www.redundancy], [['203.0.113.106', '203.0.113.107'], 'multiple-records']);
  });

  it('derives who talks to whom on which port', async () => {
    const { stack } = await loadDesign('distributed');
    const flows = stack.flows.map((f) => `${f.from}>${f.to}:${f.port}/${f.purpose}@${f.network ?? 'local'}`);
    assert.deepEqual(flows, [
      'client>lb-01:80/http@public',
      'lb-01>server-01:80/proxy@private',
      'lb-01>server-02:80/proxy@private',
      'server-01>server-01:8000/app@local',
      'server-02>server-02:8000/app@local',
      'server-01>server-01:3306/sql-write@local',
      'server-01>server-02:3306/sql-read@private',
      'server-02>server-01:3306/sql-write@private',
      'server-02>server-02:3306/sql-read@local',
      'server-02>server-01:3306/replication@private',
    ]);
  });

  it('adds HTTPS, monitoring, alerting, VRRP and cache flows where the design asks for them', async () => {
    const { stack } = await loadDesign('ha');
    const has = (from: string, to: string, port: number, purpose: string) => stack.flows.some((f) => f.from === from && f.to === to && f.port === port && f.purpose === purpose);
    assert.ok(has('client', 'lb-01', 443, 'https'));
    assert.ok(has('lb-01', 'lb-02', 0, 'vrrp'));
    assert.ok(has('app-01', 'cache-01', 6379, 'cache'));
    assert.ok(has('mon-01', 'db-02', 9104, 'metrics'));
    assert.ok(has('mon-02', 'lb-01', 8404, 'metrics'));
    assert.ok(has('mon-01', 'mon-02', 9094, 'alert-cluster'));
    // The uptime check probes from the internet side, as users do: no flow from inside the stack.
    assert.ok(!stack.flows.some((f) => f.from === 'mon-01' && f.to === 'lb-02' && f.port === 443));
  });

  it('makes every host with an own dns role a target of every other host on port 53', () => {
    const { stack } = designFrom(`
stack: owndns
domain: foobar.com
hosts:
  ns-01: { roles: [dns], networks: [public] }
  s-01: { roles: [web, app, db-primary], networks: [public] }
records:
  www: s-01
`);
    assert.equal(stack.dns.mode, 'own');
    assert.ok(stack.flows.some((f) => f.from === 'client' && f.to === 'ns-01' && f.port === 53 && f.protocol === 'udp'));
    assert.ok(stack.flows.some((f) => f.from === 's-01' && f.to === 'ns-01' && f.port === 53));
  });

  it('freezes the result all the way down', async () => {
    const { stack } = await loadDesign('simple');
    assert.ok(Object.isFrozen(stack) && Object.isFrozen(stack.hosts[0]) && Object.isFrozen(stack.hosts[0]!.roles) && Object.isFrozen(stack.flows[0]));
  });

  it('never allocates a real public address in any blueprint', async () => {
    for (const name of ['simple', 'distributed', 'secured', 'scaled', 'ha']) {
      const { stack } = await loadDesign(name);
      for (const address of stack.hosts.flatMap((h) => Object.values(h.addresses))) {
        assert.match(address, /^(203\.0\.113|198\.51\.100|10)\./, `${name}: ${address}`);
      }
    }
  });
});

describe('a name that is not valid is explained at its key, with a valid one to use instead', () => {
  const cases: Array<[NameKind, string, RegExp, string | undefined]> = [
    ['host', 'Web_01', /has upper-case letters and has '_'/, 'web-01'],
    ['host', '01web', /starts with a digit/, 'web-01'],
    ['host', '2nd-web', /starts with a digit/, 'web-2nd'],
    ['host', 'café', /non-ASCII character 'é'/, 'cafe'],
    ['host', 'a'.repeat(21), /has 21 characters/, 'a'.repeat(20)],
    ['network', 'back end', /has a space/, 'back-end'],
    ['record', '-api', /starts with '-'/, 'api'],
    ['stack', '42', /starts with a digit/, undefined],
  ];
  for (const [kind, text, fault, suggestion] of cases) {
    it(`says what is wrong with the ${kind} name '${text.length > 12 ? `${text.slice(0, 6)}…` : text}' and ${suggestion ? `suggests '${suggestion.slice(0, 8)}'` : 'suggests nothing it cannot stand behind'}`, () => {
      assert.equal(isValidName(kind, text), false);
      const message = explainName(kind, text);
      assert.match(message, fault);
      assert.match(message, new RegExp(`a ${kind} name is `));
      assert.equal(suggestName(kind, text), suggestion);
      if (suggestion) assert.ok(isValidName(kind, suggestion), suggestion);
    });
  }

  it('accepts the names the blueprints use, and @ as a record', () => {
    for (const [kind, text] of [['host', 'web-01'], ['network', 'public'], ['record', 'www'], ['record', '@'], ['record', '1st'], ['stack', 'shop']] as const) {
      assert.ok(isValidName(kind, text), `${kind} ${text}`);
    }
  });

  it("refuses 'client' as a host name, since the lab's internet user is called that", () => {
    assert.equal(isValidName('host', 'client'), false);
    assert.match(explainName('host', 'client'), /taken by the internet user/);
    assert.ok(isValidName('network', 'client'));
  });

  it('reports an invalid host name at the key, not at its value', () => {
    const error = (() => {
      try {
        designFrom('stack: names\ndomain: foobar.com\nhosts:\n  Web_01: { roles: [web, app], networks: [public] }\n');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(error instanceof DesignError);
    const problem = error.problems.find((p) => p.path.join('.') === 'hosts.Web_01');
    assert.ok(problem, JSON.stringify(error.problems));
    assert.equal(problem.at, 'key');
    assert.match(problem.message, /try 'web-01'/);
  });
});
