import { randomBytes } from 'node:crypto';
import { writeJks } from '../../../../src/ca/keystore.js';
import { buildMatcher, ContentScanner, scanBuffer, type Matcher } from '../../../../src/leak/scanning/matcher.js';
import { sha256Hex } from '../../../../src/ca/certificate.js';
import { mintRoot, p7bPem } from '../../../support/pki.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const reissued = mintRoot({ cn: 'Org Inspection Root G2', org: 'Org', keys: org.keys });
const other = mintRoot({ cn: 'Some Public Root' });
const orgFp = sha256Hex(org.der);

const wrap = (pem: string, width: number, eol: string): string => {
  const body = org.der
    .toString('base64')
    .match(new RegExp(`.{1,${width}}`, 'g'))!
    .join(eol);
  return `-----BEGIN CERTIFICATE-----${eol}${body}${eol}-----END CERTIFICATE-----${eol}`;
};
const pad = (n: number): Buffer => Buffer.from(randomBytes(n).toString('base64').replace(/[A-Z]/g, ' '));
const embed = (content: Buffer | string): Buffer => Buffer.concat([pad(5000), Buffer.from(content), pad(7000)]);

const caMatcher = buildMatcher({ certs: [org], fingerprints: [] });
const fpMatcher = buildMatcher({ certs: [], fingerprints: [orgFp] });

/** Feeds in chunks of `size`, so every needle also has to be found across chunk boundaries. */
function scanChunked(m: Matcher, data: Buffer, size: number) {
  const s = new ContentScanner(m);
  for (let i = 0; i < data.length; i += size) s.feed(data.subarray(i, i + size));
  return s.end();
}

const base64Shifted = (content: Buffer | string, shift: number): string =>
  Buffer.concat([randomBytes(shift), Buffer.from(content)]).toString('base64');

const cases: [string, Buffer, string[]][] = [
  ['PEM, 64 columns, LF', embed(org.certPem), ['pem']],
  ['PEM, 76 columns, CRLF', embed(wrap(org.certPem, 76, '\r\n')), ['pem']],
  ['PEM, one line', embed(wrap(org.certPem, 100000, '\n')), ['pem']],
  ['PEM in JSON with \\n escapes', embed(JSON.stringify({ ca: org.certPem })), ['pem']],
  ['PEM body without BEGIN/END lines', embed(org.certPem.split('\n').slice(1, -2).join('\n')), ['pem-body']],
  ['DER', embed(org.der), ['der']],
  ['re-issued certificate of the same key, PEM', embed(reissued.certPem), ['pem-same-key']],
  ['re-issued certificate of the same key, DER', embed(reissued.der), ['der-same-key']],
  ['base64 of DER, alignment 0', embed(base64Shifted(org.der, 0)), ['base64-der']],
  ['base64 of DER, alignment 1', embed(base64Shifted(org.der, 1)), ['base64-der']],
  ['base64 of DER, alignment 2', embed(base64Shifted(org.der, 2)), ['base64-der']],
  ['base64 of PEM, alignment 0', embed(base64Shifted(org.certPem, 0)), ['base64-pem']],
  ['base64 of PEM, alignment 1', embed(base64Shifted(org.certPem, 1)), ['base64-pem']],
  ['base64 of PEM, alignment 2', embed(base64Shifted(org.certPem, 2)), ['base64-pem']],
  ['JKS truststore (raw DER inside)', embed(writeJks([{ alias: 'org', der: org.der }])), ['der']],
  ['PKCS#7 bundle', embed(p7bPem([other, org])), ['pem']],
  ['another CA only', embed(other.certPem + other.der.toString('latin1')), []],
  ['nothing', pad(100000), []],
];

describe('matcher with the CA', () => {
  test.each(cases)('%s', (_name, data, kinds) => {
    for (const size of [data.length, 4096, 7, 1]) {
      if (size === 1 && data.length > 30000) continue;
      const hits = scanChunked(caMatcher, data, size);
      expect(hits.map((h) => h.kind)).toEqual(kinds);
      for (const h of hits) expect([orgFp, sha256Hex(reissued.der)]).toContain(h.fingerprint);
    }
  });
});

describe('matcher with only a fingerprint', () => {
  const fpCases: [string, Buffer, string[]][] = [
    ['PEM', embed(org.certPem), ['pem']],
    ['PEM in JSON', embed(JSON.stringify(org.certPem)), ['pem']],
    ['DER', embed(org.der), ['der']],
    [
      'base64 of DER, alignments 0-2',
      embed([0, 1, 2].map((s) => base64Shifted(org.der, s)).join('\n')),
      ['base64-der', 'base64-der', 'base64-der'],
    ],
    ['base64 of PEM', embed(base64Shifted(org.certPem, 1)), ['base64-pem']],
    ['another CA only', embed(other.certPem + other.der.toString('latin1')), []],
  ];
  test.each(fpCases)('%s', (_name, data, kinds) => {
    const hits = scanChunked(fpMatcher, data, 1000);
    expect(hits.map((h) => h.kind)).toEqual(kinds);
  });
});

test('a hit far inside a large file keeps memory bounded and is still found', () => {
  const s = new ContentScanner(caMatcher);
  const block = randomBytes(1 << 20);
  for (let i = 0; i < 64; i++) s.feed(block);
  s.feed(org.der);
  for (let i = 0; i < 4; i++) s.feed(block);
  expect(s.end().map((h) => h.kind)).toEqual(['der']);
});

test('scanBuffer finds two different targets in one buffer', () => {
  const two = buildMatcher({ certs: [org, other], fingerprints: [] });
  expect(scanBuffer(two, embed(org.certPem + '\n' + other.certPem)).length).toBe(2);
});
