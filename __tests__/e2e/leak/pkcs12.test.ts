/**
 * PKCS#12 truststores in an image layer, made by the three tools that make them in practice: keytool (JDK 17:
 * PBES2/AES-256 certificates, HmacPBESHA256 MAC), openssl 3 (the same family of defaults) and node-forge (3DES,
 * or no encryption and no MAC, like the JDK 18+ password-less cacerts, JDK-8275252). Each store is checked alone in
 * an OCI layout, plus once in a real buildah image. A store no default password opens must fail the check as
 * "could not be opened", never pass as clean.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { mintRoot } from '../../support/pki.js';
import { archive, Blobs } from './layout.js';
import { build, bundle, ensureBase, push, removeBuilt, runCli, type Run, checkImage } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const other = mintRoot({ cn: 'Some Public Root', org: 'Elsewhere' });
const orgFp = sha256Hex(org.der);
const UNKNOWN = 'Xq9-not-a-default';
let work: string;
let cli: string;
let caFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-leak-p12-'));
  caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, org.certPem);
  writeFileSync(join(work, 'other.pem'), other.certPem);
  cli = await bundle();
}, 300_000);

afterAll(() => {
  removeBuilt();
  if (work) rmSync(work, { recursive: true, force: true });
});

type Maker = (pem: string, password: string | null) => Buffer;

const keytool: Maker = (pem, password) => {
  const store = join(work, `kt-${Math.random().toString(36).slice(2)}.p12`);
  execFileSync(
    'keytool',
    [
      '-importcert',
      '-noprompt',
      '-storetype',
      'PKCS12',
      '-keystore',
      store,
      '-storepass',
      password!,
      '-alias',
      'org-root',
      '-file',
      pem,
    ],
    { stdio: 'pipe' },
  );
  return readFileSync(store);
};

const openssl: Maker = (pem, password) =>
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-nokeys', '-in', pem, '-name', 'org-root', '-passout', `pass:${password ?? ''}`],
    { maxBuffer: 1024 * 1024 },
  );

const forgeStore: Maker = (pem, password) => {
  const asn1 = forge.pkcs12.toPkcs12Asn1(null, [forge.pki.certificateFromPem(readFileSync(pem, 'utf8'))], password, {
    algorithm: '3des',
    friendlyName: 'org-root',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
};

/** An OCI archive with the public bundle and the store in one layer. */
function imageWith(name: string, store: Buffer): string {
  const blobs = new Blobs();
  const image = blobs.image({ architecture: 'amd64', os: 'linux' }, [
    {
      files: {
        'etc/ssl/certs/ca-certificates.crt': readFileSync('/etc/ssl/certs/ca-certificates.crt'),
        'opt/app/truststore.p12': store,
      },
      createdBy: 'COPY truststore.p12 /opt/app/ # buildkit',
    },
  ]);
  const dir = join(work, name);
  blobs.write(dir, image.descriptor);
  return archive(dir, `${dir}.tar`);
}

function check(path: string, extra: string[] = ['--ca', caFile]): { run: Run; report: Report } {
  return checkImage(cli, path, extra);
}

describe('a truststore holding the CA is found', () => {
  test.each([
    ['keytool, password changeit', keytool, 'changeit'],
    ['openssl, password changeit', openssl, 'changeit'],
    ['openssl, empty password', openssl, ''],
    ['node-forge, password changeit (3DES)', forgeStore, 'changeit'],
    ['node-forge, no password (no encryption, no MAC)', forgeStore, null],
  ] as [string, Maker, string | null][])('%s', (name, make, password) => {
    const store = make(caFile, password);
    // keytool and openssl encrypt the certificate bags: only opening the store finds the CA. forge never does
    // (its toPkcs12Asn1 encrypts only keys), so there the PKCS#12 parse must still win over the raw DER match.
    expect(store.includes(org.der.subarray(0, 200))).toBe(make === forgeStore);
    const path = imageWith(name.replace(/\W+/g, '-'), store);
    for (const extra of [
      ['--ca', caFile],
      ['--fingerprint', orgFp],
    ]) {
      const { run, report } = check(path, extra);
      expect(report.unscanned).toEqual([]);
      expect(report.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`)).toEqual([
        'pkcs12@/opt/app/truststore.p12:final',
      ]);
      expect(report.findings[0]!.fingerprint).toBe(orgFp);
      expect(run.status).toBe(1);
    }
  });
});

describe('a truststore no default password opens fails closed', () => {
  test.each([
    ['keytool, holding the CA', keytool, 'org', []],
    ['openssl, holding the CA', openssl, 'org', []],
    // forge leaves certificate bags unencrypted: the DER is found by bytes even though the store does not open.
    ['node-forge, holding the CA', forgeStore, 'org', ['der@/opt/app/truststore.p12']],
    // The check cannot know what it could not read: a store of another CA fails the same way.
    ['openssl, holding another certificate', openssl, 'other', []],
  ] as [string, Maker, string, string[]][])('%s', (name, make, which, found) => {
    const path = imageWith(
      `unknown-${name.replace(/\W+/g, '-')}`,
      make(which === 'org' ? caFile : join(work, 'other.pem'), UNKNOWN),
    );
    const { run, report } = check(path);
    expect(run.status).toBe(1);
    expect(report.findings.map((f) => `${f.kind}@${f.path}`)).toEqual(found);
    expect(report.unscanned).toHaveLength(1);
    expect(report.unscanned[0]!.what).toContain('/opt/app/truststore.p12');
    expect(report.unscanned[0]!.reason).toMatch(/PKCS#12 store could not be (read|opened)/);
    expect(report.unscanned[0]!.reason).toMatch(/could not be opened with the default passwords/);
    // The text report says so too, and never that the image is clean.
    const text = runCli(cli, ['leak-check', path, '--ca', caFile]);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/NOT SCANNED .*truststore\.p12: .*could not be opened/);
    expect(text.stdout).not.toMatch(/^OK:/m);
    expect(text.stdout).toMatch(/^FAILED: .*1 part\(s\) not scanned/m);
  });
});

test('a real buildah image with a keytool truststore (changeit) copied in', () => {
  ensureBase();
  writeFileSync(join(work, 'cacerts.p12'), keytool(caFile, 'changeit'));
  const image = build('leak-e2e-p12', {
    containerfile: 'FROM BASE\nCOPY cacerts.p12 /opt/java/cacerts\nRUN rm /opt/java/cacerts',
    files: { 'cacerts.p12': readFileSync(join(work, 'cacerts.p12')) },
  });
  const target = join(work, 'p12-buildah.tar');
  push(image, `oci-archive:${target}`);
  const { run, report } = check(target);
  expect(report.unscanned).toEqual([]);
  expect(report.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`)).toEqual([
    'pkcs12@/opt/java/cacerts:lower-layer',
  ]);
  expect(report.findings[0]!.layer!.instruction).toContain('COPY');
  expect(run.status).toBe(1);
}, 300_000);
