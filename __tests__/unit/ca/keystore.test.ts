import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { isJavaKeystore, readJks, readPkcs12, writeJks } from '../../../src/ca/keystore.js';
import { mintRoot, type Issued } from '../../support/pki.js';

let a: Issued;
let b: Issued;
let dir: string;
beforeAll(() => {
  a = mintRoot({ cn: 'Keystore Root A' });
  b = mintRoot({ cn: 'Keystore Root B' });
  dir = mkdtempSync(join(tmpdir(), 'org-ca-ks-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hasKeytool(): boolean {
  try {
    execFileSync('keytool', ['-help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('writeJks output reads back entry by entry', () => {
  const jks = writeJks([
    { alias: 'A', der: a.der },
    { alias: 'b', der: b.der },
  ]);
  expect(isJavaKeystore(jks)).toBe(true);
  expect(readJks(jks)).toEqual([
    { alias: 'a', der: a.der, trusted: true },
    { alias: 'b', der: b.der, trusted: true },
  ]);
});

test('the JDK keytool accepts our JKS with the default password and sees both CAs', () => {
  if (!hasKeytool()) throw new Error('keytool is required for this test (default-jdk-headless)');
  const path = join(dir, 'store.jks');
  writeFileSync(
    path,
    writeJks([
      { alias: 'a', der: a.der },
      { alias: 'b', der: b.der },
    ]),
  );
  const listing = execFileSync('keytool', ['-list', '-keystore', path, '-storepass', 'changeit', '-storetype', 'JKS'], {
    encoding: 'utf8',
  });
  expect(listing).toMatch(/Your keystore contains 2 entries/);
  expect(listing).toMatch(/trustedCertEntry/);
  // a wrong password fails the integrity check: the digest is really computed
  expect(() =>
    execFileSync('keytool', ['-list', '-keystore', path, '-storepass', 'wrongpass', '-storetype', 'JKS'], {
      stdio: 'pipe',
    }),
  ).toThrow();
});

test('readJks reads a keystore made by keytool itself', () => {
  if (!hasKeytool()) throw new Error('keytool is required for this test');
  const pem = join(dir, 'a.pem');
  const path = join(dir, 'keytool.jks');
  writeFileSync(pem, a.certPem);
  execFileSync(
    'keytool',
    [
      '-importcert',
      '-noprompt',
      '-alias',
      'orgroot',
      '-file',
      pem,
      '-keystore',
      path,
      '-storepass',
      'changeit',
      '-storetype',
      'JKS',
    ],
    { stdio: 'pipe' },
  );
  expect(readJks(readFileSync(path))).toEqual([{ alias: 'orgroot', der: a.der, trusted: true }]);
});

test('readJks fails on truncation instead of returning what it got', () => {
  const jks = writeJks([{ alias: 'a', der: a.der }]);
  expect(() => readJks(jks.subarray(0, 100))).toThrow(/keystore truncated at byte/);
});

test('readPkcs12 opens a password-less and a changeit store', () => {
  for (const password of ['', 'changeit']) {
    const p12 = forge.pkcs12.toPkcs12Asn1(null, [a.cert], password, { algorithm: '3des' });
    const der = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
    expect(readPkcs12(der).map((e) => e.der)).toEqual([a.der]);
  }
});

test('readPkcs12 reports a store it cannot open', () => {
  const p12 = forge.pkcs12.toPkcs12Asn1(null, [a.cert], 'secret-pass', { algorithm: '3des' });
  const der = Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary');
  expect(() => readPkcs12(der)).toThrow(/could not be opened with the default passwords/);
});
