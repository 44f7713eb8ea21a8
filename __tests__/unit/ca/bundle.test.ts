import { combineBundle, pemCertificates } from '../../../src/ca/bundle.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import { parseCertificates } from '../../../src/ca/parse.js';
import { mintRoot, type Issued } from '../../support/pki.js';

let a: Issued, b: Issued, org: Issued;
beforeAll(() => {
  a = mintRoot({ cn: 'Public A' });
  b = mintRoot({ cn: 'Public B' });
  org = mintRoot({ cn: 'Org Root' });
});

test('sources then the org CA, de-duplicated by fingerprint, in a stable order', () => {
  const bundle = combineBundle(
    [
      { label: 'node', pems: [a.certPem, b.certPem] },
      { label: 'os', pems: [b.certPem.replace(/\n/g, '\r\n'), a.certPem + 'junk'] },
      { label: 'SSL_CERT_FILE', pems: [org.certPem] },
    ],
    parseCertificates(org.certPem),
  );
  expect(pemCertificates(bundle.pem).map((d) => sha256Hex(d))).toEqual(
    [a.der, b.der, org.der].map((d) => sha256Hex(d)),
  );
  expect(bundle.count).toBe(3);
  expect(bundle.added).toEqual([
    { label: 'node', count: 2 },
    { label: 'os', count: 0 },
    { label: 'SSL_CERT_FILE', count: 1 },
    { label: 'org CA', count: 0 },
  ]);
});

test('the org CA is appended when nothing had it', () => {
  const bundle = combineBundle([{ label: 'node', pems: [a.certPem] }], parseCertificates(org.certPem));
  expect(bundle.added.at(-1)).toEqual({ label: 'org CA', count: 1 });
  expect(bundle.pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
  expect(parseCertificates(bundle.pem).map((c) => c.fingerprint)).toEqual([sha256Hex(a.der), sha256Hex(org.der)]);
});

test('non-certificate blocks in a source are ignored', () => {
  expect(pemCertificates(`${a.keyPem}\n${a.certPem}`)).toHaveLength(1);
});

test("the OS store as Node reads it (each certificate's text up to four times, in two sources): each counted once, where first seen", () => {
  const bundle = combineBundle(
    [
      { label: 'node', pems: [a.certPem] },
      { label: 'os', pems: [b.certPem, a.certPem, b.certPem, org.certPem, b.certPem, org.certPem] },
    ],
    parseCertificates(org.certPem),
  );
  expect(pemCertificates(bundle.pem).map((d) => sha256Hex(d))).toEqual(
    [a.der, b.der, org.der].map((d) => sha256Hex(d)),
  );
  expect(bundle.added).toEqual([
    { label: 'node', count: 1 },
    { label: 'os', count: 2 },
    { label: 'org CA', count: 0 },
  ]);
});
