import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { parseCertificates, CaInputError } from '../../../src/ca/parse.js';
import { parseFingerprint, validateCa } from '../../../src/ca/validate.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import { mintIntermediate, mintLeaf, mintRoot, p7bDer, p7bPem, type Issued } from '../../support/pki.js';

const DAY = 24 * 60 * 60 * 1000;
let root: Issued;
let intermediate: Issued;
let leaf: Issued;

beforeAll(() => {
  root = mintRoot({ cn: 'Example Org Root CA', org: 'Example Org' });
  intermediate = mintIntermediate(root, { cn: 'Example Org Issuing CA' });
  leaf = mintLeaf(intermediate, { cn: 'proxy.example', dnsNames: ['proxy.example'] });
});

/** Everything an error could leak: the base64 body of the certificate and of its key. */
function bodies(issued: Issued): string[] {
  const body = (pem: string): string => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[1] ?? '';
  return [body(issued.certPem), body(issued.keyPem), issued.der.toString('base64').slice(20, 60)];
}

function errorOf(fn: () => unknown): CaInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CaInputError) return error;
    throw error;
  }
  throw new Error('expected a CaInputError');
}

describe('parseCertificates: every form people hold', () => {
  const forms: Array<[string, () => Buffer | string]> = [
    ['PEM', () => root.certPem],
    ['PEM with CRLF line ends', () => root.certPem.replace(/\n/g, '\r\n')],
    ['PEM with surrounding whitespace and text', () => `\n\n  subject=CN=x\n${root.certPem}\n\n   `],
    ['DER bytes', () => root.der],
    ['base64 of DER on one line', () => root.der.toString('base64')],
    ['base64 of the whole PEM on one line', () => Buffer.from(root.certPem).toString('base64')],
    ['PKCS#7 .p7b in DER', () => p7bDer([root])],
    ['PKCS#7 .p7b in PEM', () => p7bPem([root])],
    ['base64 of a DER .p7b', () => p7bDer([root]).toString('base64')],
  ];
  test.each(forms)('%s', (_name, input) => {
    const certs = parseCertificates(input());
    expect(certs.map((c) => c.fingerprint)).toEqual([sha256Hex(root.der)]);
    expect(certs[0]!.subject).toContain('CN=Example Org Root CA');
    expect(certs[0]!.isCa).toBe(true);
  });

  test('several certificates in one PEM, de-duplicated, in order', () => {
    const certs = parseCertificates(intermediate.certPem + root.certPem + intermediate.certPem);
    expect(certs.map((c) => c.fingerprint)).toEqual([sha256Hex(intermediate.der), sha256Hex(root.der)]);
  });

  test('a .p7b with a chain yields every certificate', () => {
    const certs = parseCertificates(p7bDer([root, intermediate]));
    expect(new Set(certs.map((c) => c.fingerprint))).toEqual(
      new Set([sha256Hex(root.der), sha256Hex(intermediate.der)]),
    );
  });

  test('fingerprint and SPKI hash are lower-case hex SHA-256', () => {
    const [cert] = parseCertificates(root.certPem);
    expect(cert!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(cert!.spkiSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(cert!.spkiSha256).not.toBe(cert!.fingerprint);
  });
});

describe('parseCertificates: rejections say what is wrong and never echo the input', () => {
  const rsaPkcs8 = (): string =>
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ecSec1 = (): string =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const encrypted = (): string =>
    generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
      .toString();
  const derKey = (): Buffer =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' });

  const cases: Array<[string, () => Buffer | string, RegExp]> = [
    ['empty', () => '', /^The ca input is empty: expected a PEM certificate/],
    ['whitespace only', () => ' \n\t ', /^The ca input is empty/],
    ['random text', () => 'hello world, this is not a cert', /^The ca input is not a certificate: expected/],
    ['PKCS#8 private key', rsaPkcs8, /^The ca input contains a private key; it was not used and is not shown\./],
    ['EC private key', ecSec1, /contains a private key/],
    ['RSA key in the traditional format', () => root.keyPem, /contains a private key/],
    ['encrypted private key', encrypted, /contains a private key/],
    ['certificate followed by its key', () => root.certPem + root.keyPem, /contains a private key/],
    ['base64 of a PEM private key', () => Buffer.from(root.keyPem).toString('base64'), /contains a private key/],
    ['DER private key', derKey, /is a private key \(DER\)/],
    [
      'OpenSSH private key',
      () => '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
      /contains a private key/,
    ],
    [
      'a CSR',
      () => '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
      /holds no certificate \(found only 'CERTIFICATE REQUEST' blocks\)/,
    ],
    [
      'a corrupt certificate block',
      () => root.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA'),
      /'CERTIFICATE' block that is not a valid X\.509 certificate/,
    ],
    ['truncated PEM', () => root.certPem.slice(0, 200), /holds no certificate \(no complete PEM block\)/],
    [
      'DER that is not a certificate',
      () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]),
      /is DER data but not a certificate/,
    ],
  ];
  test.each(cases)('%s', (_name, input, expected) => {
    const value = input();
    const error = errorOf(() => parseCertificates(value));
    expect(error.message).toMatch(expected);
    expect(error.message.split('\n')).toHaveLength(1);
    const text = Buffer.isBuffer(value) ? value.toString('latin1') : value;
    for (const line of text.split(/\r?\n/).filter((l) => l.length > 12 && !l.startsWith('-----'))) {
      expect(error.message).not.toContain(line.slice(0, 12));
    }
    for (const body of bodies(root)) if (body) expect(error.message).not.toContain(body);
  });

  test('PKCS#12 is refused as it may hold keys', () => {
    const p12 = forge.pkcs12.toPkcs12Asn1(root.keys.privateKey, [root.cert], 'pw', { algorithm: '3des' });
    const der = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
    expect(errorOf(() => parseCertificates(der)).message).toMatch(
      /PKCS#12 \(\.p12\/\.pfx\) file, which can hold private keys/,
    );
  });

  test('messages name where the input came from', () => {
    expect(errorOf(() => parseCertificates('', "ca-file '/etc/x.pem'")).message).toBe(
      "The ca-file '/etc/x.pem' input is empty: expected a PEM certificate (-----BEGIN CERTIFICATE-----), DER bytes, the base64 of either on one line, or a PKCS#7 (.p7b) bundle.",
    );
  });
});

describe('validateCa', () => {
  const now = new Date();

  test('accepts a root, names it primary, no warnings', () => {
    const v = validateCa(parseCertificates(root.certPem), { now });
    expect(v.primary.fingerprint).toBe(sha256Hex(root.der));
    expect(v.warnings).toEqual([]);
  });

  test('rejects a certificate that is not a CA', () => {
    const error = errorOf(() => validateCa(parseCertificates(leaf.certPem), { now }));
    expect(error.message).toMatch(
      /^Certificate 'CN=proxy\.example' \(SHA-256 [0-9A-F:]{95}\) is not a CA \(basicConstraints CA:FALSE or absent\)/,
    );
  });

  test('rejects a certificate without basicConstraints', () => {
    const bare = mintRoot({ cn: 'No Constraints', omitBasicConstraints: true });
    expect(errorOf(() => validateCa(parseCertificates(bare.certPem), { now })).message).toMatch(/is not a CA/);
  });

  test('rejects an expired CA with its expiry date', () => {
    const old = mintRoot({
      cn: 'Old Root',
      notBefore: new Date(Date.now() - 400 * DAY),
      notAfter: new Date(Date.now() - 10 * DAY),
    });
    expect(errorOf(() => validateCa(parseCertificates(old.certPem), { now })).message).toMatch(
      /^CA 'CN=Old Root' .* expired on \d{4}-\d\d-\d\dT/,
    );
  });

  test('rejects a CA that is not yet valid', () => {
    const future = mintRoot({
      cn: 'Future Root',
      notBefore: new Date(Date.now() + 10 * DAY),
      notAfter: new Date(Date.now() + 400 * DAY),
    });
    expect(errorOf(() => validateCa(parseCertificates(future.certPem), { now })).message).toMatch(
      /is not valid before/,
    );
  });

  test('warns when the CA expires within 30 days', () => {
    const soon = mintRoot({ cn: 'Soon Root', notAfter: new Date(Date.now() + 10 * DAY) });
    const v = validateCa(parseCertificates(soon.certPem), { now });
    expect(v.warnings).toHaveLength(1);
    expect(v.warnings[0]).toMatch(/^CA 'CN=Soon Root' .* expires in (9|10) day\(s\)/);
  });

  test('warns when an intermediate comes without its issuer, not when the root is given too', () => {
    const alone = validateCa(parseCertificates(intermediate.certPem), { now });
    expect(alone.warnings.join()).toMatch(
      /is an intermediate whose issuer 'CN=Example Org Root CA, O=Example Org' was not given/,
    );
    const withRoot = validateCa(parseCertificates(intermediate.certPem + root.certPem), { now });
    expect(withRoot.warnings).toEqual([]);
    expect(withRoot.primary.fingerprint).toBe(sha256Hex(root.der));
  });

  test.each([
    ['lower-case hex', (fp: string) => fp],
    ['upper-case with colons', (fp: string) => fp.toUpperCase().replace(/(..)(?!$)/g, '$1:')],
    ['with sha256: prefix and spaces', (fp: string) => ` sha256:${fp} `],
  ])('a matching pin (%s) selects the pinned certificate', (_name, shape) => {
    const v = validateCa(parseCertificates(intermediate.certPem + root.certPem), {
      now,
      pin: shape(sha256Hex(intermediate.der)),
    });
    expect(v.primary.fingerprint).toBe(sha256Hex(intermediate.der));
  });

  test.each([
    [
      'the root, with an unrelated CA beside it',
      () => root.certPem + mintRoot({ cn: 'Unrelated Root' }).certPem,
      () => root.der,
      ['root'],
      1,
    ],
    [
      'the intermediate, with its root and an unrelated CA',
      () => intermediate.certPem + root.certPem + mintRoot({ cn: 'Unrelated Root' }).certPem,
      () => intermediate.der,
      ['intermediate', 'root'],
      1,
    ],
    [
      'the root, whose intermediate is given too (an intermediate is not an issuer of the root)',
      () => intermediate.certPem + root.certPem,
      () => root.der,
      ['root'],
      1,
    ],
    ['the root, given twice', () => root.certPem + root.certPem, () => root.der, ['root'], 0],
  ])(
    'a pin limits trust: pinned to %s, only the pinned certificate and its issuers are kept',
    (_name, input, pinned, kept, dropped) => {
      const v = validateCa(parseCertificates(input()), { now, pin: sha256Hex(pinned()), pinName: '--fingerprint' });
      const byName: Record<string, string> = { root: sha256Hex(root.der), intermediate: sha256Hex(intermediate.der) };
      expect(v.certs.map((c) => c.fingerprint)).toEqual(kept.map((k) => byName[k]));
      const drops = v.warnings.filter((w) => w.includes('was dropped'));
      expect(drops).toHaveLength(dropped);
      for (const w of drops)
        expect(w).toMatch(
          /^'CN=.*' \(SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\) was dropped: it is neither the certificate --fingerprint names nor an issuer of it/,
        );
    },
  );

  test('an unrelated certificate that is expired or not a CA is dropped by the pin, not an error', () => {
    const leaf = mintLeaf(root, { cn: 'leaf.example' });
    const v = validateCa(parseCertificates(root.certPem + leaf.certPem), { now, pin: sha256Hex(root.der) });
    expect(v.certs).toHaveLength(1);
  });

  test('a pin mismatch fails and shows both fingerprints', () => {
    const wrong = 'ab'.repeat(32);
    const error = errorOf(() => validateCa(parseCertificates(root.certPem), { now, pin: wrong }));
    expect(error.message).toMatch(
      /^The CA's SHA-256 fingerprint does not match ca-fingerprint AB:AB:.*: the input has [0-9A-F:]{95}\.$/,
    );
  });

  test('a malformed pin is quoted with what was expected', () => {
    expect(() => parseFingerprint('xyz')).toThrow(
      "ca-fingerprint 'xyz' is not a SHA-256 fingerprint: expected 64 hex digits, with or without colons.",
    );
  });
});
