/**
 * Every realistic way a CA (or an intermediate it signed) is written into a file: base64 at any line width and
 * indentation, escaped PEM, the certificate family. And the other side: real public bundles raise nothing.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readJks, writeJks } from '../../../../src/ca/keystore.js';
import { sha256Hex } from '../../../../src/ca/certificate.js';
import { buildMatcher, classifyDer, ContentScanner, type Matcher } from '../../../../src/leak/scanning/matcher.js';
import type { Hit } from '../../../../src/leak/types.js';
import { mintIntermediate, mintLeaf, mintRoot } from '../../../support/pki.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const intermediate = mintIntermediate(org, { cn: 'Org Issuing CA 1', org: 'Org' });
const leaf = mintLeaf(org, { cn: 'service.internal', dnsNames: ['service.internal'] });
const grandchild = mintIntermediate(intermediate, { cn: 'Org Issuing CA 1.1', org: 'Org' });
// Same subject name as the org CA, another key: what it signs names the org CA as issuer but does not verify.
const impostor = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const impostorChild = mintIntermediate(impostor, { cn: 'Org Issuing CA 1', org: 'Org' });
const other = mintRoot({ cn: 'Some Public Root' });
const orgFp = sha256Hex(org.der);
const intermediateFp = sha256Hex(intermediate.der);

const caMatcher = buildMatcher({ certs: [org], fingerprints: [] });
const fpMatcher = buildMatcher({ certs: [], fingerprints: [orgFp] });
const SYSTEM_BUNDLE = readFileSync('/etc/ssl/certs/ca-certificates.crt');
const JDK_CACERTS = readFileSync('/etc/ssl/certs/java/cacerts');

function scan(m: Matcher, data: Buffer | string, chunk = 4096): Hit[] {
  const bytes = Buffer.from(data);
  const s = new ContentScanner(m);
  for (let i = 0; i < bytes.length; i += chunk) s.feed(bytes.subarray(i, i + chunk));
  return s.end();
}
const kinds = (hits: Hit[]): string[] => hits.map((h) => h.kind);

/** `base64 -w WIDTH` of the content placed `shift` bytes into the encoded stream. */
const base64Wrapped = (content: Buffer | string, width: number, shift = 0, eol = '\n', indent = ''): string =>
  Buffer.concat([randomBytes(shift), Buffer.from(content)])
    .toString('base64')
    .match(new RegExp(`.{1,${width}}`, 'g'))!
    .map((line) => indent + line)
    .join(eol);
const prose = (n: number): string =>
  randomBytes(n)
    .toString('base64')
    .replace(/[A-Z+/]/g, ' ');
const embed = (content: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(prose(3000) + '\n'), Buffer.from(content), Buffer.from('\n' + prose(4000))]);
const pemOf = (der: Buffer, width = 64, eol = '\n'): string =>
  `-----BEGIN CERTIFICATE-----${eol}${der
    .toString('base64')
    .match(new RegExp(`.{1,${width}}`, 'g'))!
    .join(eol)}${eol}-----END CERTIFICATE-----${eol}`;

describe('base64 of the PEM and of the DER at every line width and alignment', () => {
  const widths = [...Array.from({ length: 101 }, (_, i) => 30 + i), 152, 100000];
  test.each([
    ['PEM', org.certPem, 'base64-pem'],
    ['PEM bundle with the CA second (any alignment)', other.certPem + org.certPem, 'base64-pem'],
    ['DER', org.der, 'base64-der'],
  ])('base64 of the %s, widths 30-130, alignments 0-2', (_name, content, kind) => {
    const missed: string[] = [];
    for (const width of widths) {
      for (const shift of [0, 1, 2]) {
        const got = kinds(scan(caMatcher, embed(base64Wrapped(content, width, shift))));
        // A DER wrapped like a PEM body is reported as one; unwrapped it is base64 of the DER.
        const expected = kind === 'base64-der' && width < 100000 ? ['pem-body'] : [kind];
        if (JSON.stringify(got) !== JSON.stringify(expected))
          missed.push(`w${width}/s${shift}: ${got.join(',') || 'nothing'}`);
      }
    }
    expect(missed).toEqual([]);
  });

  test.each([
    [
      'Kubernetes Secret, one-line data field',
      `apiVersion: v1\nkind: Secret\ndata:\n  ca.crt: ${Buffer.from(org.certPem).toString('base64')}\n  token: abc\n`,
      ['base64-pem'],
    ],
    [
      'YAML block scalar |, indented 4, width 76',
      `spec:\n  caBundle: |\n${base64Wrapped(org.certPem, 76, 0, '\n', '    ')}\n  other: 1\n`,
      ['base64-pem'],
    ],
    [
      'YAML folded scalar >-, indented 6, width 64',
      `ca:\n    pem: >-\n${base64Wrapped(org.certPem, 64, 0, '\n', '      ')}\n`,
      ['base64-pem'],
    ],
    [
      'Helm values, CRLF, width 60',
      `tls:\r\n  ca: |\r\n${base64Wrapped(org.certPem, 60, 0, '\r\n', '    ')}\r\n`,
      ['base64-pem'],
    ],
    ['JSON string, \\n every 76', JSON.stringify({ ca: base64Wrapped(org.certPem, 76) + '\n' }), ['base64-pem']],
    ['JSON array of lines', JSON.stringify({ ca: base64Wrapped(org.der, 64).split('\n') }, null, 2), ['pem-body']],
    ['Java properties, \\ continuation', `ca=${base64Wrapped(org.der, 70, 0, '\\\n    ')}\n`, ['pem-body']],
    [
      'base64 of a JKS truststore, width 76, indented',
      `  truststore.jks: |\n${base64Wrapped(writeJks([{ alias: 'org', der: org.der }]), 76, 0, '\n', '    ')}\n`,
      ['base64-der'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(kinds(scan(caMatcher, embed(text)))).toEqual(expected);
    expect(kinds(scan(caMatcher, embed(text), 7))).toEqual(expected);
  });
});

describe('PEM with escaped line breaks', () => {
  const lines = org.certPem.trim().split('\n');
  test.each([
    ['JSON \\n', lines.join('\\n')],
    ['JSON \\r\\n', lines.join('\\r\\n')],
    ['double-escaped \\\\n', lines.join('\\\\n')],
    ['JSON \\n with indentation after it', lines.join('\\n  ')],
    ['JSON \\u000a', lines.join('\\u000a')],
    ['XML &#10;', lines.join('&#10;')],
    ['XML &#13;&#10;', lines.join('&#13;&#10;')],
    ['a single line with spaces', lines.join(' ')],
    ['JSON \\/ escapes', JSON.stringify(org.certPem).replace(/\//g, '\\/')],
  ])('%s', (_name, text) => {
    const hits = scan(caMatcher, embed(`{"ca": "${text}"}`));
    expect(kinds(hits)).toEqual(['pem']);
    expect(hits[0]!.fingerprint).toBe(orgFp);
  });
});

describe('the CA family: an issuing intermediate is found in every encoding, as its own kind', () => {
  const jksOfIntermediate = writeJks([{ alias: 'issuing', der: intermediate.der }]);
  test.each([
    ['PEM', intermediate.certPem, ['pem-intermediate']],
    ['PEM, 76 columns, CRLF', pemOf(intermediate.der, 76, '\r\n'), ['pem-intermediate']],
    ['PEM in JSON', JSON.stringify({ chain: intermediate.certPem }), ['pem-intermediate']],
    ['DER', intermediate.der, ['der-intermediate']],
    ['base64 of the DER, one line', base64Wrapped(intermediate.der, 100000, 1), ['base64-der-intermediate']],
    [
      'base64 of the DER, width 76, indented',
      base64Wrapped(intermediate.der, 76, 0, '\n', '    '),
      ['base64-der-intermediate'],
    ],
    ['base64 of the PEM, width 76', base64Wrapped(intermediate.certPem, 76), ['base64-pem-intermediate']],
    [
      'base64 of a bundle with the intermediate second, width 64',
      base64Wrapped(other.certPem + intermediate.certPem, 64, 2),
      ['base64-pem-intermediate'],
    ],
    ['JKS (raw DER inside)', jksOfIntermediate, ['der-intermediate']],
    ['chain file: intermediate then root', intermediate.certPem + org.certPem, ['pem-intermediate', 'pem']],
  ])('%s', (_name, content, expected) => {
    const hits = scan(caMatcher, embed(content));
    expect(kinds(hits)).toEqual(expected);
    for (const h of hits) expect(h.fingerprint).toBe(h.kind.includes('intermediate') ? intermediateFp : orgFp);
    expect(hits.find((h) => h.kind.includes('intermediate'))?.subject).toContain('Org Issuing CA 1');
  });

  test('in a keystore entry (classifyDer, the JKS/PKCS#12 path)', () => {
    const [entry] = readJks(jksOfIntermediate);
    expect(classifyDer(caMatcher, entry!.der, 'jks')).toEqual({
      kind: 'jks-intermediate',
      fingerprint: intermediateFp,
      subject: expect.stringContaining('Org Issuing CA 1'),
    });
    expect(classifyDer(caMatcher, intermediate.der, 'pkcs12')?.kind).toBe('pkcs12-intermediate');
    expect(classifyDer(caMatcher, org.der, 'pkcs12')?.kind).toBe('pkcs12');
    expect(classifyDer(caMatcher, leaf.der, 'jks')).toBeUndefined();
  });

  test.each([
    ['a leaf the CA issued (CA:FALSE)', leaf],
    ['a CA with the same issuer name, signed by another key', impostorChild],
    ['the impostor root itself (same name, other key)', impostor],
    ['a CA signed by the intermediate, not by the org CA', grandchild],
  ])('not an intermediate: %s', (_name, cert) => {
    for (const content of [cert.certPem, cert.der, base64Wrapped(cert.der, 76), base64Wrapped(cert.certPem, 76)]) {
      expect(kinds(scan(caMatcher, embed(content)))).toEqual([]);
    }
  });
});

describe('random public certificates raise nothing', () => {
  test.each([
    ['the Debian ca-certificates bundle', SYSTEM_BUNDLE],
    ['the JDK cacerts (JKS) of this machine', JDK_CACERTS],
    ['base64 of the Debian bundle, width 76', Buffer.from(base64Wrapped(SYSTEM_BUNDLE, 76))],
    ['base64 of the JDK cacerts, indented', Buffer.from(base64Wrapped(JDK_CACERTS, 76, 0, '\n', '    '))],
    ['the bundle as a JSON string', Buffer.from(JSON.stringify({ ca: SYSTEM_BUNDLE.toString() }))],
    ['random base64', Buffer.from(base64Wrapped(randomBytes(500_000), 76))],
  ])('%s', (_name, data) => {
    expect(scan(caMatcher, data, 65536)).toEqual([]);
    expect(scan(fpMatcher, data, 65536)).toEqual([]);
  });

  test('every certificate of the JDK cacerts passes classifyDer', () => {
    const entries = readJks(JDK_CACERTS);
    expect(entries.length).toBeGreaterThan(100);
    for (const e of entries) expect(classifyDer(caMatcher, e.der)).toBeUndefined();
  });

  test('the CA appended to the real bundle is found once, with nothing else', () => {
    const hits = scan(caMatcher, Buffer.concat([SYSTEM_BUNDLE, Buffer.from(org.certPem)]), 65536);
    expect(kinds(hits)).toEqual(['pem']);
  });
});
