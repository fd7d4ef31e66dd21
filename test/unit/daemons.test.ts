import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { BLUEPRINTS } from '../../src/blueprints/index.ts';
import { loadDesign } from '../../src/design/load.ts';
import { parseGaleraStatus, parseSemiSync } from '../../src/daemons/mariadb.ts';
import { describeReload } from '../../src/daemons/types.ts';
import { alertRules, JOBS, renderRules } from '../../src/daemons/prometheus-rules.ts';
import { planLab } from '../../src/plan/plan.ts';
import { describeProbe } from '../../src/plan/probe.ts';
import { assertGolden, designFrom, FIXED } from '../helpers.ts';

// Every daemon's config, rendered from every blueprint, against checked-in files
// (UPDATE_GOLDEN=1 npm run test:unit rewrites them). The machine-specific parts are fixed.


describe('rendered daemon configs', () => {
  for (const blueprint of BLUEPRINTS) {
    test(`${blueprint}: every file, command and probe matches its golden file`, async () => {
      const plan = planLab((await loadDesign(blueprint)).stack, FIXED);
      const summary: string[] = [`fingerprint ${plan.fingerprint}`, '', '# network', ...plan.network.map((s) => s.argv.join(' ')), '', '# daemons'];
      for (const d of plan.daemons) {
        const wave = plan.waves.findIndex((w) => w.includes(d));
        summary.push(`${d.host}/${d.daemon} wave ${wave}${d.after.length ? ` (after ${d.after.join(', ')})` : ''}: ${d.command.join(' ')}`, `  ready when: ${describeProbe(d.readiness)} within ${d.readinessTimeoutMs} ms`);
        for (const v of d.validate ?? []) summary.push(`  valid when: ${v.join(' ')}`);
        if (d.reload) summary.push(`  reload: ${describeReload(d.reload)}${d.reload.files ? ` (for ${d.reload.files.map((f) => basename(f)).join(', ')} only)` : ''}`);
        if (d.init) summary.push(`  first start: ${d.init.command.join(' ')} (unless ${d.init.creates} exists)`);
        if (d.setup) summary.push(`  each time ready: ${d.setup.command.join(' ')} (within ${d.setup.timeoutMs} ms)`);
        for (const f of d.files) {
          summary.push(`  file ${f.path} (${f.mode.toString(8)}${f.owner ? `, ${f.owner}` : ''})`);
          assertGolden(`golden/${blueprint}/lab/${d.host}/${d.daemon}/${basename(f.path)}`, f.content);
        }
      }
      if (plan.internalCa) {
        summary.push(`internal CA: ${plan.internalCa.run.join(' ')}`);
        assertGolden(`golden/${blueprint}/lab/internal-ca.sh`, plan.internalCa.script.content);
      }
      for (const fw of plan.firewalls) {
        summary.push(`firewall ${fw.host}: ${fw.apply.join(' ')} (checked by ${fw.check.join(' ')})`);
        assertGolden(`golden/${blueprint}/lab/${fw.host}/firewall.nft`, fw.file.content);
      }
      for (const u of plan.unrun) summary.push(`not run yet: ${u.daemon} on ${u.host}`);
      for (const gap of plan.gaps) summary.push(`not yet: ${gap}`);
      for (const f of plan.resolvConfs) summary.push(`resolv.conf ${f.path}: ${f.content.trim().split('\n').at(-1)}`);
      assertGolden(`golden/${blueprint}/lab/plan.txt`, summary.join('\n') + '\n');
    });
  }

  test('the plan is the same for the same design, and changes with a secret', async () => {
    const design = (await loadDesign('simple')).stack;
    assert.equal(planLab(design, FIXED).fingerprint, planLab(design, FIXED).fingerprint);
    assert.notEqual(planLab(design, FIXED).fingerprint, planLab(design, { ...FIXED, secrets: { ...FIXED.secrets, dbPassword: 'other' } }).fingerprint);
  });

  test('the database password in init.sql is quoted as a SQL string', async () => {
    const plan = planLab((await loadDesign('simple')).stack, { ...FIXED, secrets: { ...FIXED.secrets, dbPassword: "it's\\" } });
    const init = plan.daemons.find((d) => d.daemon === 'mariadb')!.files.find((f) => f.path.endsWith('init.sql'))!;
    assert.match(init.content, /IDENTIFIED BY 'it''s\\\\';/);
    assert.equal(init.mode, 0o600);
  });
});

describe('the load balancer and the databases of a distributed design', () => {
  const files = (plan: ReturnType<typeof planLab>, host: string, daemon: string) => {
    const spec = plan.daemons.find((d) => d.host === host && d.daemon === daemon)!;
    return { spec, file: (name: string) => spec.files.find((f) => basename(f.path) === name)!.content };
  };
  const TWO_TIERS = `
stack: tiers
domain: foobar.com
networks:
  public: { cidr: 203.0.113.64/27 }
  private: { cidr: 10.71.64.0/24 }
records: { www: lb }
hosts:
  lb-01: { roles: [lb], networks: [public, private] }
  app-01: { roles: [app], networks: [private] }
  app-02: { roles: [app], networks: [private] }
  db-01: { roles: [db-primary], networks: [private] }
app: { port: 8080 }
policies:
  lb: { algorithm: leastconn }
  healthChecks: { path: /ping, intervalMs: 1000, fall: 3, rise: 2 }
`;

  test("HAProxy balances with the design's algorithm and checks the design's health path at its interval", () => {
    const plan = planLab(designFrom(TWO_TIERS).stack, FIXED);
    const cfg = files(plan, 'lb-01', 'haproxy').file('haproxy.cfg');
    assert.match(cfg, /^ {4}balance leastconn$/m);
    assert.match(cfg, /http-check send meth GET uri \/ping ver HTTP\/1\.1 hdr Host www\.foobar\.com/);
    assert.match(cfg, /default-server check inter 1000ms fastinter 100ms downinter 1000ms fall 3 rise 2/);
    assert.match(cfg, /timeout check 400ms/);
    // Without a web tier the LB talks to the app servers themselves, on the design's app port.
    assert.match(cfg, /server app-01 10\.71\.64\.\d+:8080 maxconn 16\n {4}server app-02 10\.71\.64\.\d+:8080 maxconn 16/);
  });

  test('HAProxy queues what its servers have no room for, answers a clear 503 when the queue times out, and retries nothing slow under overload', () => {
    const cfg = files(planLab(designFrom(TWO_TIERS).stack, FIXED), 'lb-01', 'haproxy').file('haproxy.cfg');
    assert.match(cfg, /timeout queue 5s/);
    assert.match(cfg, /http-error status 503 content-type text\/plain string "The site is busy: no server could take this request in time\. Try again in a few seconds\." hdr Retry-After 5/);
    assert.match(cfg, /http-request disable-l7-retry if \{ queue\(servers\) gt 0 \}/);
  });

  test('HAProxy takes clients on the public address only, and keeps stats and metrics on the private one', () => {
    const plan = planLab(designFrom(TWO_TIERS).stack, FIXED);
    const { spec, file } = files(plan, 'lb-01', 'haproxy');
    const cfg = file('haproxy.cfg');
    const binds = [...cfg.matchAll(/^ {4}bind (\S+)$/gm)].map((m) => m[1]);
    assert.equal(binds.length, 2);
    assert.match(binds[0]!, /^203\.0\.113\.\d+:80$/);
    assert.match(binds[1]!, /^10\.71\.64\.\d+:8404$/);
    assert.match(cfg, /use-service prometheus-exporter if \{ path \/metrics \}/);
    assert.deepEqual(spec.after, ['nginx', 'app'], 'after the servers it balances');
    assert.equal(plan.waves.findIndex((w) => w.includes(spec)), plan.waves.length - 1, 'in the last wave');
  });

  test("nginx refuses a body over the app's limit before it crosses the network, as the app would: a JSON 413", async () => {
    const cfg = files(planLab((await loadDesign('ha')).stack, FIXED), 'web-01', 'nginx').file('nginx.conf');
    assert.match(cfg, /client_max_body_size 16384;/);
    assert.match(cfg, /error_page 413 @body_too_large;\n\s+location @body_too_large \{\n\s+default_type application\/json;\n\s+return 413 '\{"error":"the request body is larger than 16384 bytes"\}';/);
  });

  test('only a request that never reached a server, or an idempotent one, is retried elsewhere', () => {
    const cfg = files(planLab(designFrom(TWO_TIERS).stack, FIXED), 'lb-01', 'haproxy').file('haproxy.cfg');
    assert.match(cfg, /retry-on conn-failure empty-response junk-response response-timeout/);
    assert.match(cfg, /option redispatch 1/);
    assert.match(cfg, /http-request disable-l7-retry if !METH_GET/);
  });

  test('every rendered HAProxy config is one HAProxy itself accepts', { skip: spawnSync('haproxy', ['-v']).error ? 'haproxy is not installed' : false }, async () => {
    for (const blueprint of BLUEPRINTS) {
      const plan = planLab((await loadDesign(blueprint)).stack, FIXED);
      for (const spec of plan.daemons.filter((d) => d.daemon === 'haproxy')) {
        const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
        try {
          const cfg = join(dir, 'haproxy.cfg');
          // The stats socket's directory exists only on a real run.
          let content = spec.files[0]!.content.replace(/stats socket \S+/, `stats socket ${join(dir, 'admin.sock')}`);
          // With TLS end to end, HAProxy verifies its servers against the stack's CA, made at up: a stand-in here.
          if (/ca-file (\S+)/.test(content)) {
            spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=test CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
            content = content.replace(/ca-file \S+/g, `ca-file ${join(dir, 'ca.pem')}`);
          }
          writeFileSync(cfg, content);
          // Its own validate command: with TLS and no certificate yet, HAProxy checks with a placeholder.
          const [program, ...args] = spec.validate![0]!.map((a) => (a.endsWith('haproxy.cfg.next') ? cfg : a.endsWith('site.pem') ? join(dir, 'site.pem') : a === spec.files[0]!.path.replace(/\/haproxy\.cfg$/, '').replace('/config/', '/run/') ? dir : a));
          const check = spawnSync(program!, args, { encoding: 'utf8' });
          assert.equal(check.status, 0, `${blueprint} ${spec.host}: ${check.stderr}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  });

  test('every server starts read-only; its role step makes the primary writable and points a replica at the primary by GTID, verified before it counts as ready', async () => {
    const plan = planLab((await loadDesign('distributed')).stack, FIXED);
    const primary = files(plan, 'server-01', 'mariadb');
    const replica = files(plan, 'server-02', 'mariadb');
    for (const server of [primary, replica]) {
      // A replica that is promoted needs the replication user for its own replicas.
      assert.match(server.file('init.sql'), /GRANT REPLICATION SLAVE ON \*\.\* TO 'replication'@'%';/);
      assert.match(server.file('init.sql'), /IDENTIFIED BY 'replication-password-for-tests'/);
      assert.match(server.file('init.sql'), /^SET sql_log_bin = 0;/, 'local users are not replicated');
      assert.match(server.file('my.cnf'), /^read_only = ON$/m);
    }
    assert.match(primary.file('my.cnf'), /^server-id = 2$/m);
    assert.match(replica.file('my.cnf'), /^server-id = 3$/m);
    assert.equal(primary.file('role.sql'), 'STOP SLAVE;\nRESET SLAVE ALL;\nSET GLOBAL read_only = OFF;\n');
    assert.match(replica.file('role.sql'), /^SET GLOBAL read_only = ON;\nSTOP SLAVE;\nCHANGE MASTER TO MASTER_HOST = '10\.71\.32\.11'.*MASTER_USE_GTID = current_pos/);
    assert.match(replica.file('role.sh'), /Slave_IO_Running: Yes.*Slave_SQL_Running: Yes/);
    for (const [server, host] of [[primary, 'server-01'], [replica, 'server-02']] as const) {
      const script = `/var/lib/webstack/distributed/config/${host}/mariadb/role.sh`;
      assert.deepEqual(server.spec.setup?.command, ['bash', script]);
      // The same step reloads a server whose role changed, and only then: any other change restarts it.
      assert.deepEqual(server.spec.reload, { setup: true, files: [`/var/lib/webstack/distributed/config/${host}/mariadb/role.sql`, script] });
    }
  });

  test("semi-sync replication is MariaDB's own, AFTER_SYNC, with the design's timeout, on both sides of every server; async designs have none of it", async () => {
    const scaled = planLab((await loadDesign('scaled')).stack, FIXED);
    for (const host of ['db-01', 'db-02']) {
      const cnf = files(scaled, host, 'mariadb').file('my.cnf');
      assert.match(cnf, /^rpl_semi_sync_master_enabled = ON\nrpl_semi_sync_slave_enabled = ON\nrpl_semi_sync_master_wait_point = AFTER_SYNC\nrpl_semi_sync_master_timeout = 300$/m, host);
    }
    const tuned = planLab(designFrom(`${TWO_TIERS}  db: { replication: semi-sync, semiSyncTimeoutMs: 1000 }\n`.replace('  db-01: { roles: [db-primary], networks: [private] }', '  db-01: { roles: [db-primary], networks: [private] }\n  db-02: { roles: [db-replica], networks: [private] }')).stack, FIXED);
    assert.match(files(tuned, 'db-01', 'mariadb').file('my.cnf'), /^rpl_semi_sync_master_timeout = 1000$/m);
    assert.doesNotMatch(files(planLab((await loadDesign('distributed')).stack, FIXED), 'server-01', 'mariadb').file('my.cnf'), /semi_sync/);
    assert.ok(!scaled.gaps.some((g) => /semi-sync/.test(g)), 'up no longer says semi-sync is not carried out');
  });

  test("a semi-sync primary's status says whether it waits for a replica now, and how many acknowledge", () => {
    assert.deepEqual(parseSemiSync('Rpl_semi_sync_master_clients\t1\nRpl_semi_sync_master_status\tON\n'), { on: true, clients: 1 });
    assert.deepEqual(parseSemiSync('Rpl_semi_sync_master_clients\t0\nRpl_semi_sync_master_status\tOFF\n'), { on: false, clients: 0 });
    assert.equal(parseSemiSync(''), null);
  });

  test("a Galera member's status says whether it is synced in the primary component", () => {
    const synced = parseGaleraStatus('wsrep_cluster_size\t3\nwsrep_cluster_status\tPrimary\nwsrep_last_committed\t42\nwsrep_local_state_comment\tSynced\nwsrep_ready\tON\n');
    assert.deepEqual(synced, { state: 'Synced', cluster: 'Primary', size: 3, ready: true, lastCommitted: 42 });
    const cutOff = parseGaleraStatus('wsrep_cluster_size\t1\nwsrep_cluster_status\tnon-Primary\nwsrep_local_state_comment\tInitialized\nwsrep_ready\tOFF\n');
    assert.equal(cutOff?.cluster, 'non-Primary');
    assert.equal(cutOff?.ready, false);
    assert.equal(parseGaleraStatus(''), null);
  });

  test('ha: each member joins the other two, by their private addresses, and evicts a silent one within about a second', async () => {
    const plan = planLab((await loadDesign('ha')).stack, FIXED);
    const config = files(plan, 'db-02', 'mariadb').file('my.cnf');
    assert.match(config, /wsrep_cluster_address = gcomm:\/\/10\.71\.128\.16:4567,10\.71\.128\.17:4567,10\.71\.128\.18:4567/);
    assert.match(config, /wsrep_node_address = 10\.71\.128\.17:4567/);
    assert.match(config, /evs\.suspect_timeout=PT0\.8S; evs\.inactive_timeout=PT1S/);
    // TLS end to end: group communication and state transfers too.
    assert.match(config, /socket\.ssl_cert=/);
    assert.match(config, /\[sst\]\n#.*\nssl-mode = VERIFY_CA/);
    // It also answers on the write address, whenever keepalived-db brings it here.
    assert.match(config, /bind-address = 10\.71\.128\.17,10\.71\.128\.254/);
    const app = JSON.parse(files(plan, 'app-01', 'app').file('app.json'));
    assert.deepEqual(app.database.primary, { host: 'db-writer', address: '10.71.128.254', port: 3306 });
    assert.deepEqual(app.database.replicas.map((r: { host: string }) => r.host), ['db-01', 'db-02', 'db-03']);
    assert.equal(app.database.cluster, 'galera');
  });

  test('each app server writes to the primary and reads from the replica it reaches', async () => {
    const plan = planLab((await loadDesign('distributed')).stack, FIXED);
    const config = (host: string) => JSON.parse(files(plan, host, 'app').file('app.json'));
    assert.deepEqual(config('server-01').database.primary, { host: 'server-01', address: '127.0.0.1', port: 3306 });
    assert.deepEqual(config('server-01').database.replicas, [{ host: 'server-02', address: '10.71.32.12', port: 3306 }]);
    assert.deepEqual(config('server-02').database.primary, { host: 'server-01', address: '10.71.32.11', port: 3306 });
    assert.deepEqual(config('server-02').database.replicas, [{ host: 'server-02', address: '127.0.0.1', port: 3306 }]);
    assert.equal(config('server-01').database.maxLagSeconds, 1);
    assert.deepEqual(JSON.parse(files(planLab((await loadDesign('simple')).stack, FIXED), 'server-01', 'app').file('app.json')).database.replicas, []);
  });
});

describe('keepalived and the virtual IP of ha', () => {
  test('prefers the first holder, advertises by unicast on the private network, and puts the address on the public side', async () => {
    const plan = planLab((await loadDesign('ha')).stack, FIXED);
    const conf = (host: string) => plan.daemons.find((d) => d.host === host && d.daemon === 'keepalived')!.files[0]!.content;
    assert.match(conf('lb-01'), /interface eth1\n\s+virtual_router_id 50\n\s+priority 200\n/);
    assert.match(conf('lb-02'), /priority 190\n/);
    assert.match(conf('lb-01'), /unicast_src_ip 10\.71\.128\.10\n\s+unicast_peer \{\n\s+10\.71\.128\.11\n/);
    assert.match(conf('lb-02'), /virtual_ipaddress \{\n\s+203\.0\.113\.158\/27 dev eth0\n/);
    const spec = plan.daemons.find((d) => d.host === 'lb-01' && d.daemon === 'keepalived')!;
    assert.deepEqual(spec.after, ['haproxy']);
    assert.equal(spec.readiness.kind, 'exec');
    // HAProxy listens on the address before keepalived brings it, so the move needs no restart.
    const haproxy = plan.daemons.find((d) => d.host === 'lb-02' && d.daemon === 'haproxy')!.files[0]!.content;
    assert.match(haproxy, /bind 203\.0\.113\.158:443 transparent ssl crt/);
    assert.equal(plan.daemons.some((d) => d.daemon === 'keepalived' && !d.host.startsWith('lb-')), false);
    assert.ok(!plan.gaps.some((g) => /virtual IP/.test(g)), plan.gaps.join('\n'));
  });
});

describe('Prometheus and the node exporters', () => {
  test('every rendered Prometheus config and rules file is one promtool accepts', { skip: spawnSync('promtool', ['--version']).error ? 'promtool is not installed' : false }, async () => {
    let checked = 0;
    for (const blueprint of BLUEPRINTS) {
      const plan = planLab((await loadDesign(blueprint)).stack, FIXED);
      for (const spec of plan.daemons.filter((d) => d.daemon === 'prometheus')) {
        const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
        try {
          const [config, rules] = spec.files;
          // The config names its rules file where the lab puts it; here it sits beside the config.
          writeFileSync(join(dir, 'prometheus.yml'), config!.content.replace(rules!.path, join(dir, 'rules.yml')));
          writeFileSync(join(dir, 'rules.yml'), rules!.content);
          const check = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
          assert.equal(check.status, 0, `${blueprint} ${spec.host}: ${check.stdout}${check.stderr}`);
          assert.match(check.stdout, /SUCCESS: \d+ rules found/);
          checked++;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    assert.equal(checked, 4, 'secured, scaled and ha (two)');
  });

  test('every rendered Alertmanager config is one amtool accepts, and the Alertmanagers of ha form one cluster', { skip: spawnSync('amtool', ['--version']).error ? 'amtool is not installed' : false }, async () => {
    let checked = 0;
    for (const blueprint of BLUEPRINTS) {
      const plan = planLab((await loadDesign(blueprint)).stack, FIXED);
      for (const spec of plan.daemons.filter((d) => d.daemon === 'alertmanager')) {
        const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
        try {
          writeFileSync(join(dir, 'alertmanager.yml'), spec.files[0]!.content);
          const check = spawnSync('amtool', ['check-config', join(dir, 'alertmanager.yml')], { encoding: 'utf8' });
          assert.equal(check.status, 0, `${blueprint} ${spec.host}: ${check.stdout}${check.stderr}`);
          checked++;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    assert.equal(checked, 3, 'secured and ha (two); scaled does not alert');
    const ha = planLab((await loadDesign('ha')).stack, FIXED);
    const command = (host: string) => ha.daemons.find((d) => d.host === host && d.daemon === 'alertmanager')!.command;
    assert.ok(command('mon-01').includes('--cluster.listen-address=10.71.128.20:9094'));
    assert.ok(command('mon-01').includes('--cluster.peer=10.71.128.21:9094'));
    assert.ok(command('mon-02').includes('--cluster.peer=10.71.128.20:9094'));
    const secured = planLab((await loadDesign('secured')).stack, FIXED);
    assert.ok(secured.daemons.find((d) => d.daemon === 'alertmanager')!.command.includes('--cluster.listen-address='), 'alone, it gossips with nobody');
    const prometheus = ha.daemons.find((d) => d.host === 'mon-02' && d.daemon === 'prometheus')!.files[0]!.content;
    assert.match(prometheus, /targets: \['10\.71\.128\.21:9093', '10\.71\.128\.20:9093'\]/, 'each Prometheus alerts both Alertmanagers, its own first');
  });

  test("a design's own receivers hear every alert but the Watchdog, besides the lab's", () => {
    const { stack } = designFrom(`
stack: t
domain: example.com
hosts:
  web-01: { roles: [web, app, db-primary], networks: [public, private] }
  mon-01: { roles: [monitoring], networks: [private] }
policies:
  monitoring:
    alerting: true
    notify:
      - webhook: http://hooks.example.com/webstack
      - { email: ops@example.com, smtp: mail.example.com:25 }
`);
    const config = planLab(stack!, FIXED).daemons.find((d) => d.daemon === 'alertmanager')!.files[0]!.content;
    assert.match(config, /receiver: design\n\s+matchers:\n\s+- alertname != Watchdog\n\s+continue: true/);
    assert.match(config, /url: http:\/\/hooks\.example\.com\/webstack/);
    assert.match(config, /to: ops@example\.com\n\s+from: alerts@example\.com\n\s+smarthost: mail\.example\.com:25/);
    assert.match(config, /url: http:\/\/127\.0\.0\.1:9095\/alerts/);
  });

  test('promtool finds each alert firing on the series that mean it, and silent on healthy ones', { skip: spawnSync('promtool', ['--version']).error ? 'promtool is not installed' : false }, async () => {
    const tests = readFileSync(join(import.meta.dirname, '..', 'prometheus', 'rules.test.yml'), 'utf8');
    // Every alert there is has a case, firing.
    for (const rule of alertRules(new Set(JOBS), 'secured', { primary: true, clusterMembers: 3 })) assert.match(tests, new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), rule.alert);
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), renderRules(new Set(JOBS), 'secured', { primary: true, clusterMembers: 3 }));
      writeFileSync(join(dir, 'tests.yml'), tests);
      const run = spawnSync('promtool', ['test', 'rules', join(dir, 'tests.yml')], { encoding: 'utf8' });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      assert.match(run.stdout, /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('scrapes what the lab runs on each monitored host, from each monitoring host on its own', async () => {
    const plan = planLab((await loadDesign('ha')).stack, FIXED);
    for (const mon of ['mon-01', 'mon-02']) {
      const config = plan.daemons.find((d) => d.host === mon && d.daemon === 'prometheus')!.files[0]!.content;
      assert.match(config, /scrape_interval: 5s/);
      assert.equal(config.match(/labels: \{ host: [\w-]+ \}/g)!.length, 12 + 2 + 2 + 2 + 2 + 2 + 3 + 1, `${mon}: 12 node exporters, 2 HAProxy, 2 Prometheus, 2 Alertmanagers, 2 apps, 2 nginx and 3 MariaDB exporters, 1 Redis exporter`);
    }
    const exporter = plan.daemons.find((d) => d.host === 'db-01' && d.daemon === 'node-exporter')!;
    assert.deepEqual(exporter.command.filter((a) => a.startsWith('--web.listen-address')), ['--web.listen-address=10.71.128.16:9100']);
    const own = plan.daemons.find((d) => d.host === 'mon-01' && d.daemon === 'node-exporter')!;
    assert.deepEqual(own.command.filter((a) => a.startsWith('--web.listen-address')), ['--web.listen-address=127.0.0.1:9100', '--web.listen-address=10.71.128.20:9100']);
  });
});
