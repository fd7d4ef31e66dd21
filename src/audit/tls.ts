// testssl.sh's view of the public entry, judged: what the stack's TLS must be (TLS 1.2 and 1.3
// only, no weak cipher, HSTS, a chain that verifies against the lab's root) and what is the lab
// CA's doing rather than the stack's (Pebble's five-year certificates, without revocation).

export interface TestsslFinding {
  readonly id: string;
  readonly severity: string;
  readonly finding: string;
}

export interface TlsCheck {
  readonly what: string;
  readonly verdict: 'pass' | 'fail' | 'note';
  readonly why: string;
}

/** Properties of the certificate the lab's CA issues, not of the stack's TLS. */
const CA_PROPERTIES = new Set(['cert_validityPeriod', 'cert_revocation', 'cert_ocspURL', 'cert_crlDistributionPoints', 'OCSP_stapling', 'DNS_CAArecord', 'cert_extlifeSpan']);
const SERIOUS = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);

export function testsslCommand(url: string, roots: string, jsonFile: string): string[] {
  return ['testssl', '--quiet', '--color', '0', '--warnings', 'off', '--add-ca', roots, '--protocols', '--std', '--server-defaults', '--headers', '--jsonfile', jsonFile, url];
}

export function judgeTestssl(findings: readonly TestsslFinding[]): TlsCheck[] {
  const of = (id: string) => findings.find((f) => f.id === id);
  const checks: TlsCheck[] = [];
  const expect = (what: string, ok: boolean, why: string) => checks.push({ what, verdict: ok ? 'pass' : 'fail', why });

  const offered = (id: string) => /^offered/.test(of(id)?.finding ?? '');
  const protocols = ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3'].filter(offered);
  expect('protocols', protocols.join() === 'TLS1_2,TLS1_3', `offered: ${protocols.join(', ').replace(/_/g, '.') || 'none'} (TLS 1.2 and 1.3 only)`);
  const weak = findings.filter((f) => /^cipherlist_(NULL|aNULL|EXPORT|LOW|3DES_IDEA|AVERAGE)$/.test(f.id) && /^offered/.test(f.finding));
  expect('ciphers', weak.length === 0 && offered('cipherlist_STRONG'), weak.length ? `weak ones offered: ${weak.map((f) => f.id.replace('cipherlist_', '')).join(', ')}` : 'strong (AEAD) ciphers only');
  const alpn = of('ALPN_HTTP2')?.finding ?? '';
  expect('HTTP/2', /\bh2\b/.test(alpn), alpn ? `ALPN offers ${alpn}` : 'no h2 by ALPN');
  const hsts = of('HSTS_time');
  expect('HSTS', hsts !== undefined && hsts.severity === 'OK', hsts?.finding ?? (of('HSTS')?.finding || 'no Strict-Transport-Security header'));
  const chain = of('cert_chain_of_trust');
  expect('certificate chain', chain?.finding.startsWith('passed') ?? false, chain ? `${chain.finding.replace(/\.$/, '')}, against the lab's ACME root` : 'not checked');
  const trust = of('cert_trust');
  expect('certificate names', trust?.severity === 'OK', trust?.finding ?? 'not checked');

  // Anything else testssl.sh finds serious fails too, unless a check above has judged it already.
  const judged = /^(SSLv[23]|TLS1(_[123])?|cipherlist_.*|ALPN.*|HSTS.*|cert_chain_of_trust|cert_trust)$/;
  for (const f of findings) {
    if (!SERIOUS.has(f.severity) || judged.test(f.id)) continue;
    checks.push(CA_PROPERTIES.has(f.id) ? { what: f.id, verdict: 'note', why: `${f.finding} (the lab CA's certificates, not the stack's TLS)` } : { what: f.id, verdict: 'fail', why: `${f.severity}: ${f.finding}` });
  }
  return checks;
}
