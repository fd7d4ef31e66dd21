import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { judgeTestssl, type TestsslFinding } from '../../src/audit/tls.ts';
import { loadDesign } from '../../src/design/load.ts';
import { parseCertificate } from '../../src/lab/certs.ts';
import { planLab } from '../../src/plan/plan.ts';
import { blueprintFile } from '../../src/blueprints/index.ts';
import { designFrom, FIXED } from '../helpers.ts';

// TLS at the load balancers: the configs rendered for it, the lab's ACME CA, and how audit and
// certs read testssl.sh and openssl. The live proof is test/integration/secured.test.ts.

async function planOf(blueprint: string) {
  return planLab((await loadDesign(blueprint)).stack, FIXED);
}

const fileOf = (plan: Awaited<ReturnType<typeof planOf>>, host: string, daemon: string, name: string) =>
  plan.daemons.find((d) => d.host === host && d.daemon === daemon)!.files.find((f) => basename(f.path) === name)!.content;

describe('TLS terminated at the load balancer', () => {
  it("serves HTTPS with Mozilla's intermediate profile, HTTP/2, HSTS for a year, and sends port 80 to HTTPS", async () => {
    const cfg = fileOf(await planOf('secured'), 'lb-01', 'haproxy', 'haproxy.cfg');
    assert.match(cfg, /bind 203\.0\.113\.74:443 ssl crt "\$\{WEBSTACK_SITE_PEM\}" alpn h2,http\/1\.1/);
    assert.match(cfg, /http-request redirect scheme https code 301 unless \{ ssl_fc \}/);
    assert.match(cfg, /Strict-Transport-Security "max-age=31536000" if \{ ssl_fc \}/);
    assert.match(cfg, /ssl-default-bind-options ssl-min-ver TLSv1\.2 no-tls-tickets/);
    const ciphers = /ssl-default-bind-ciphers (\S+)/.exec(cfg)![1]!.split(':');
    assert.ok(ciphers.every((c) => c.startsWith('ECDHE-') && /GCM|CHACHA20/.test(c)), ciphers.join());
    assert.match(cfg, /ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256/);
  });

  it('answers health at the public entry with ok or unavailable, never with what is behind it', async () => {
    const cfg = fileOf(await planOf('secured'), 'lb-01', 'haproxy', 'haproxy.cfg');
    assert.match(cfg, /http-request return status 200 content-type text\/plain string "ok" if \{ path \/healthz \} \{ nbsrv\(servers\) gt 0 \}/);
    assert.match(cfg, /http-request return status 503 content-type text\/plain string "unavailable" if \{ path \/healthz \}/);
    const simple = fileOf(await planOf('simple'), 'server-01', 'nginx', 'nginx.conf');
    assert.match(simple, /map \$server_addr \$health_detail \{\n\s+default full;\n\s+203\.0\.113\.10 none;/);
    assert.match(simple, /proxy_set_header X-Webstack-Health \$health_detail;/);
  });

  it('obtains each load balancer its own certificate by DNS-01 before HAProxy starts, and only with TLS', async () => {
    const scaled = await planOf('scaled');
    for (const lb of ['lb-01', 'lb-02']) {
      const spec = scaled.daemons.find((d) => d.host === lb && d.daemon === 'haproxy')!;
      assert.deepEqual(spec.init?.command.slice(-1), ['run']);
      assert.match(spec.init!.creates, new RegExp(`/run/${lb}/haproxy/site\\.pem$`));
      assert.deepEqual(spec.after, ['nginx', 'app', 'pebble', 'dns']);
      const script = fileOf(scaled, lb, 'haproxy', 'acme.sh');
      assert.match(script, /--server https:\/\/203\.0\.113\.100:14000\/dir/);
      assert.match(script, /--dns rfc2136 --dns\.resolvers 203\.0\.113\.99:53 --dns\.disable-cp --domains www\.foobar\.com/);
      assert.match(script, /RFC2136_TSIG_KEY=acme-update/);
      // Both load balancers order a certificate for www: one order at a time, or each would erase the other's challenge.
      assert.match(script, /exec 9>\/var\/lib\/webstack\/scaled\/run\/acme\.lock\nflock --timeout 120 9\n/);
      assert.match(script, /LEGO_CA_CERTIFICATES=\/var\/lib\/webstack\/scaled\/run\/acme\/pebble\/server-cert\.pem/);
    }
    const distributed = await planOf('distributed');
    const plain = distributed.daemons.find((d) => d.daemon === 'haproxy')!;
    assert.equal(plain.init, undefined);
    assert.deepEqual(plain.after, ['nginx', 'app']);
    assert.doesNotMatch(plain.files[0]!.content, /:443|ssl/);
  });

  it("adds the lab's ACME CA on the internet side for a design with TLS, asking the stack's DNS server", async () => {
    const secured = await planOf('secured');
    const acme = secured.topology.hosts.find((h) => h.kind === 'acme')!;
    assert.equal(acme.name, 'acme');
    const addresses = secured.topology.hosts.filter((h) => h !== acme).flatMap((h) => Object.values(h.addresses));
    assert.ok(!addresses.includes(acme.addresses.public!), 'an address of its own');
    const pebble = secured.daemons.find((d) => d.daemon === 'pebble')!;
    assert.deepEqual(pebble.command.slice(-2), ['-dnsserver', '203.0.113.67:53']);
    assert.equal(pebble.env?.PEBBLE_WFE_NONCEREJECT, '0');
    assert.match(fileOf(secured, 'acme', 'pebble', 'roots.sh'), /\/etc\/netns\/secured-client\/ssl\/certs\/ca-certificates\.crt/);
    assert.equal((await planOf('distributed')).topology.hosts.some((h) => h.kind === 'acme'), false);
  });

  it('lets only the load balancers, signing with the TSIG key, add TXT records to the zone', async () => {
    const knot = fileOf(await planOf('scaled'), 'dns', 'dns', 'knot.conf');
    assert.match(knot, /key:\n {2}- id: acme-update\n {4}algorithm: hmac-sha256\n {4}secret: ZG5zLXVwZGF0ZS1rZXktZm9yLXRlc3RzLTAxMjM0NTY=/);
    assert.match(knot, /address: \[ 203\.0\.113\.106, 10\.71\.96\.10, 203\.0\.113\.107, 10\.71\.96\.11 \]\n {4}key: acme-update\n {4}action: update\n {4}update-type: \[ TXT \]/);
    assert.match(knot, /acl: acme-challenges/);
    assert.doesNotMatch(fileOf(await planOf('distributed'), 'dns', 'dns', 'knot.conf'), /acme|key:/);
  });
});

describe('reading testssl.sh and openssl', () => {
  const good: TestsslFinding[] = [
    { id: 'SSLv2', severity: 'OK', finding: 'not offered' },
    { id: 'SSLv3', severity: 'OK', finding: 'not offered' },
    { id: 'TLS1', severity: 'INFO', finding: 'not offered' },
    { id: 'TLS1_1', severity: 'INFO', finding: 'not offered' },
    { id: 'TLS1_2', severity: 'OK', finding: 'offered' },
    { id: 'TLS1_3', severity: 'OK', finding: 'offered with final' },
    { id: 'ALPN_HTTP2', severity: 'OK', finding: 'h2' },
    { id: 'cipherlist_AVERAGE', severity: 'INFO', finding: 'not offered' },
    { id: 'cipherlist_STRONG', severity: 'OK', finding: 'offered' },
    { id: 'HSTS_time', severity: 'OK', finding: '365 days (=31536000 seconds) > 15552000 seconds' },
    { id: 'cert_trust', severity: 'OK', finding: 'Ok via SAN (same w/o SNI)' },
    { id: 'cert_chain_of_trust', severity: 'OK', finding: 'passed.' },
    { id: 'cert_validityPeriod', severity: 'MEDIUM', finding: '1826 days' },
    { id: 'cert_revocation', severity: 'HIGH', finding: 'Neither CRL nor OCSP URI provided' },
  ];

  it("passes the stack's TLS and notes what is the lab CA's doing", () => {
    const checks = judgeTestssl(good);
    assert.deepEqual(checks.filter((c) => c.verdict === 'fail'), []);
    assert.deepEqual(checks.filter((c) => c.verdict === 'note').map((c) => c.what), ['cert_validityPeriod', 'cert_revocation']);
    assert.ok(checks.some((c) => c.what === 'protocols' && c.verdict === 'pass' && /TLS1\.2, TLS1\.3/.test(c.why)));
  });

  it('fails TLS 1.0, a weak cipher, a missing HSTS header and a chain that does not verify', () => {
    const bad = good
      .map((f) => (f.id === 'TLS1' ? { ...f, finding: 'offered (deprecated)', severity: 'LOW' } : f.id === 'cert_chain_of_trust' ? { ...f, severity: 'CRITICAL', finding: 'failed (chain incomplete).' } : f.id === 'cipherlist_AVERAGE' ? { ...f, severity: 'LOW', finding: 'offered' } : f))
      .filter((f) => f.id !== 'HSTS_time');
    const failed = judgeTestssl(bad).filter((c) => c.verdict === 'fail').map((c) => c.what);
    assert.deepEqual(failed, ['protocols', 'ciphers', 'HSTS', 'certificate chain']);
  });

  it('reads a certificate as openssl prints it', () => {
    const text = 'subject=CN = www.foobar.com\nissuer=CN = Pebble Intermediate CA 60c214\nnotAfter=Nov 23 16:57:56 2031 GMT\nserial=49D70C7D0ADC383C\nX509v3 Subject Alternative Name: \n    DNS:www.foobar.com, DNS:foobar.com\n';
    assert.deepEqual(parseCertificate('lb-01', text), { holder: 'lb-01', names: ['www.foobar.com', 'foobar.com'], subject: 'CN = www.foobar.com', issuer: 'CN = Pebble Intermediate CA 60c214', notAfter: 'Nov 23 16:57:56 2031 GMT', serial: '49D70C7D0ADC383C' });
  });
});

describe('TLS end to end (ha)', () => {
  it('has nginx reach the app servers over HTTPS, verified by their service name, and the app serve HTTPS', async () => {
    const ha = await planOf('ha');
    const nginx = fileOf(ha, 'web-01', 'nginx', 'nginx.conf');
    assert.match(nginx, /proxy_pass https:\/\/foobar_app;\n.*\n\s+proxy_ssl_verify on;\n\s+proxy_ssl_trusted_certificate \/var\/lib\/webstack\/ha\/volumes\/ca\/ca\.pem;\n\s+proxy_ssl_name app;/);
    const app = JSON.parse(fileOf(ha, 'app-01', 'app', 'app.json'));
    assert.deepEqual(app.tls, { cert: '/var/lib/webstack/ha/volumes/app-01/tls/cert.pem', key: '/var/lib/webstack/ha/volumes/app-01/tls/key.pem' });
    const spec = ha.daemons.find((d) => d.host === 'app-01' && d.daemon === 'app')!;
    assert.deepEqual(spec.readiness, { kind: 'http', url: 'https://10.71.128.14:8000/healthz', ca: '/var/lib/webstack/ha/volumes/ca/ca.pem' });
  });

  it('sends the load balancers to nginx on 443, verifying each server against the stack CA by name', async () => {
    const ha = await planOf('ha');
    const cfg = fileOf(ha, 'lb-01', 'haproxy', 'haproxy.cfg');
    assert.match(cfg, /server web-01 10\.71\.128\.12:443 ssl verify required ca-file \/var\/lib\/webstack\/ha\/volumes\/ca\/ca\.pem verifyhost web-01/);
    const nginx = fileOf(ha, 'web-01', 'nginx', 'nginx.conf');
    assert.match(nginx, /listen 10\.71\.128\.12:443 ssl default_server;\n\s+ssl_certificate \/var\/lib\/webstack\/ha\/volumes\/web-01\/tls\/cert\.pem;/);
    const { stack } = await loadDesign('ha');
    assert.deepEqual([...new Set(stack.flows.filter((f) => f.purpose === 'proxy').map((f) => f.port))], [443]);
  });

  it('makes MariaDB take TLS only, its users too, and the app and the replica verify the server', async () => {
    // ha with a primary and a replica instead of its cluster.
    const source = readFileSync(blueprintFile('ha'), 'utf8')
      .replace(/  db-01:\n    roles: \[db\]/, '  db-01:\n    roles: [db-primary]')
      .replace(/  db-02:\n    roles: \[db\]/, '  db-02:\n    roles: [db-replica]')
      .replace(/  db-03:\n    roles: \[db\]\n    networks: \[private\]\n/, '')
      .replace('replication: galera\n    failover: automatic', 'replication: semi-sync');
    const ha = planLab(designFrom(source).stack, FIXED);
    const cnf = fileOf(ha, 'db-01', 'mariadb', 'my.cnf');
    assert.match(cnf, /require_secure_transport = ON/);
    assert.match(cnf, /ssl_cert = \/var\/lib\/webstack\/ha\/volumes\/db-01\/tls\/cert\.pem/);
    assert.match(fileOf(ha, 'db-01', 'mariadb', 'init.sql'), /ALTER USER 'replication'@'%' IDENTIFIED BY '[^']+' REQUIRE SSL;/);
    assert.match(fileOf(ha, 'db-02', 'mariadb', 'role.sql'), /MASTER_SSL = 1, MASTER_SSL_CA = '\/var\/lib\/webstack\/ha\/volumes\/ca\/ca\.pem', MASTER_SSL_VERIFY_SERVER_CERT = 1/);
    assert.equal(JSON.parse(fileOf(ha, 'app-01', 'app', 'app.json')).database.tlsCa, '/var/lib/webstack/ha/volumes/ca/ca.pem');
    // A Galera cluster encrypts group communication and state transfers with the same certificates.
    const cluster = fileOf(await planOf('ha'), 'db-01', 'mariadb', 'my.cnf');
    assert.match(cluster, /socket\.ssl_ca=\/var\/lib\/webstack\/ha\/volumes\/ca\/ca\.pem; socket\.ssl_cert=\/var\/lib\/webstack\/ha\/volumes\/db-01\/tls\/cert\.pem/);
    assert.match(cluster, /require_secure_transport = ON/);
    assert.doesNotMatch(fileOf(await planOf('secured'), 'server-01', 'mariadb', 'my.cnf'), /ssl|secure_transport/);
  });

  it("keeps the stack's CA and each certificate: made only when missing, or when a host's names change", async () => {
    const ha = await planOf('ha');
    const script = ha.internalCa!.script.content;
    assert.match(script, /if \[ ! -e \/var\/lib\/webstack\/ha\/volumes\/ca\/ca\.pem \]; then/);
    assert.match(script, /if \[ -e "\$cert" \] && \[ "\$\(cat "\$dir\/names" 2>\/dev\/null\)" = "\$sans" \]; then return; fi/);
    // A member of the database cluster is also reached at the write address it may hold.
    assert.match(script, /^leaf db-01 'DNS:db-01,IP:10\.71\.128\.16,IP:10\.71\.128\.254,IP:127\.0\.0\.1' \S+ \S+ mysql$/m);
    assert.match(script, /^leaf web-01 'DNS:web-01,IP:10\.71\.128\.12,IP:127\.0\.0\.1' \S+ \S+ root$/m);
    assert.match(script, /^leaf app-01 'DNS:app-01,DNS:app,IP:10\.71\.128\.14,IP:127\.0\.0\.1' \S+ \S+ root$/m);
    assert.equal((await planOf('secured')).internalCa, null);
    assert.match(script, /^leaf cache-01 'DNS:cache-01,IP:10\.71\.128\.19,IP:127\.0\.0\.1' \S+ \S+ root$/m);
    // Every hop is encrypted now, Redis included: no gap left to name.
    assert.ok(!ha.gaps.some((g) => /in clear/.test(g)), ha.gaps.join('\n'));
  });
});
