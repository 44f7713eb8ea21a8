/**
 * Issue 11, point 1 (files): prepareInjection keeps what the job trusted. Real files, real keystores (JKS written by
 * org-ca's own writer and read back by keytool elsewhere; PKCS#12 made by openssl with a password).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pemCertificates } from '../../../src/ca/bundle.js';
import { parseCertificates } from '../../../src/ca/parse.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import { readJks, writeJks } from '../../../src/ca/jks.js';
import { prepareInjection, type InjectionRequest } from '../../../src/tools/inject.js';
import { mintRoot, type Issued } from '../../support/pki.js';

let work: string;
let org: Issued;
let internal: Issued;
let internalPem: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-keep-'));
  org = mintRoot({ cn: 'Keep Org Root', org: 'Example Org' });
  internal = mintRoot({ cn: 'Keep Internal Services CA', org: 'Example Org Internal' });
  internalPem = join(work, 'internal.pem');
  // the org CA is in there too: it must come out once
  writeFileSync(internalPem, internal.certPem + org.certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function request(env: Record<string, string>, tools?: string[]): InjectionRequest {
  const home = join(work, `home-${++n}`);
  return {
    certs: parseCertificates(org.certPem, 'ca'),
    env: { PATH: process.env.PATH, HOME: home, ...env },
    platform: 'linux',
    ...(tools ? { tools } : {}),
    dir: join(work, `out-${n}`),
    onVerificationOff: 'fail',
  };
}

const fingerprints = (pem: string): string[] => pemCertificates(pem).map((der) => sha256Hex(der));

describe('appending variables', () => {
  test('NODE_EXTRA_CA_CERTS: the exported file holds its certificates and the org CA, each once', async () => {
    const injection = await prepareInjection(request({ NODE_EXTRA_CA_CERTS: internalPem }, ['node']));
    const exported = injection.plan.variables.find((v) => v.name === 'NODE_EXTRA_CA_CERTS')!.value;
    expect(exported).not.toBe(internalPem);
    expect(fingerprints(readFileSync(exported, 'utf8'))).toEqual([sha256Hex(internal.der), sha256Hex(org.der)]);
    // the user's file is untouched, and the CA-alone file is still the CA alone
    expect(readFileSync(internalPem, 'utf8')).toBe(internal.certPem + org.certPem);
    expect(fingerprints(readFileSync(injection.plan.files.ca, 'utf8'))).toEqual([sha256Hex(org.der)]);
    expect(injection.warnings).toEqual([]);
  });

  test('DENO_CERT naming a missing file: a warning that names it, and the org CA alone (nothing was trusted from it)', async () => {
    const missing = join(work, 'no-such.pem');
    const injection = await prepareInjection(request({ DENO_CERT: missing }, ['deno']));
    const exported = injection.plan.variables.find((v) => v.name === 'DENO_CERT')!.value;
    expect(fingerprints(readFileSync(exported, 'utf8'))).toEqual([sha256Hex(org.der)]);
    expect(injection.warnings).toEqual([
      `DENO_CERT named '${missing}', which could not be read (ENOENT): it gave no trust before, and now holds the org CA alone.`,
    ]);
  });

  test('a file with no certificate in it is warned about the same way', async () => {
    const junk = join(work, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const injection = await prepareInjection(request({ NODE_EXTRA_CA_CERTS: junk }, ['node']));
    expect(injection.warnings).toEqual([
      `NODE_EXTRA_CA_CERTS named '${junk}', which holds no PEM certificate: it gave no trust before, and now holds the org CA alone.`,
    ]);
  });

  test('DENO_CERT’s certificates stay Deno’s: kept in its own file, never handed to every reader of the shared bundle', async () => {
    const injection = await prepareInjection(request({ DENO_CERT: internalPem }, ['openssl', 'deno']));
    expect(fingerprints(injection.bundle.pem)).not.toContain(sha256Hex(internal.der));
    const deno = injection.plan.variables.find((v) => v.name === 'DENO_CERT')!;
    expect(fingerprints(readFileSync(deno.value, 'utf8'))).toContain(sha256Hex(internal.der));
  });
});

describe("the user's own Java trustStore", () => {
  const storeEntries = (path: string): string[] =>
    readJks(readFileSync(path))
      .map((e) => sha256Hex(e.der))
      .sort();

  test('JKS: the org-ca store is its certificates + the org CA, nothing from the JDK', async () => {
    const jks = join(work, 'user.jks');
    writeFileSync(jks, writeJks([{ alias: 'internal', der: internal.der }], 'userpass'));
    const injection = await prepareInjection(
      request(
        { JAVA_TOOL_OPTIONS: `-Xmx256m -Djavax.net.ssl.trustStore=${jks} -Djavax.net.ssl.trustStorePassword=userpass` },
        ['java'],
      ),
    );
    expect(storeEntries(injection.plan.files.truststore!)).toEqual(
      [sha256Hex(internal.der), sha256Hex(org.der)].sort(),
    );
    expect(injection.truststoreBase).toBe(`${jks} (from JAVA_TOOL_OPTIONS)`);
  });

  test.each([
    [
      'type and password given',
      (p: string) =>
        `-Djavax.net.ssl.trustStore=${p} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=s3cret`,
    ],
    [
      'type left to the JVM (JDK 9+ detects it)',
      (p: string) => `-Djavax.net.ssl.trustStore=${p} -Djavax.net.ssl.trustStorePassword=s3cret`,
    ],
  ])('PKCS#12 with a password, %s', async (_label, options) => {
    const p12 = join(work, `user-${++n}.p12`);
    // keytool marks an imported certificate as trusted (Oracle's trusted-key-usage attribute); Java anchors on nothing
    // else in a PKCS#12 store, so neither does org-ca (an `openssl pkcs12 -export -nokeys` store anchors nothing).
    execFileSync(
      'keytool',
      [
        '-importcert',
        '-noprompt',
        '-alias',
        'internal',
        '-file',
        internalPem,
        '-keystore',
        p12,
        '-storepass',
        's3cret',
        '-storetype',
        'PKCS12',
      ],
      { stdio: 'pipe' },
    );
    const injection = await prepareInjection(request({ JDK_JAVA_OPTIONS: options(p12) }, ['java']));
    expect(storeEntries(injection.plan.files.truststore!)).toEqual(
      [sha256Hex(internal.der), sha256Hex(org.der)].sort(),
    );
    expect(injection.plan.variables.find((v) => v.name === 'JDK_JAVA_OPTIONS')?.value).toBe('');
  });

  test('a store that cannot be read fails in one line, never falling back to cacerts', async () => {
    const missing = join(work, 'gone.jks');
    await expect(
      prepareInjection(request({ JAVA_TOOL_OPTIONS: `-Djavax.net.ssl.trustStore=${missing}` }, ['java'])),
    ).rejects.toThrow(
      new RegExp(
        `^JAVA_TOOL_OPTIONS names the trustStore '${missing}', which could not be read \\(ENOENT\\): expected a readable JKS or PKCS12 store; fix the path or remove -Djavax\\.net\\.ssl\\.trustStore\\.$`,
      ),
    );
  });

  test('a wrong password fails in one line that does not echo it', async () => {
    const p12 = join(work, 'wrong-pass.p12');
    execFileSync('openssl', [
      'pkcs12',
      '-export',
      '-nokeys',
      '-in',
      internalPem,
      '-out',
      p12,
      '-passout',
      'pass:right-one',
    ]);
    const attempt = prepareInjection(
      request(
        {
          JAVA_TOOL_OPTIONS: `-Djavax.net.ssl.trustStore=${p12} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=wrong-one`,
        },
        ['java'],
      ),
    );
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^JAVA_TOOL_OPTIONS names the trustStore '${p12}', which could not be opened as PKCS12 with the trustStorePassword given: `,
      ),
    );
    const message = await attempt.catch((error: Error) => error.message);
    expect(message).not.toMatch(/wrong-one|right-one|\n/);
  });

  test('a store type org-ca cannot read (PKCS11, NONE) is refused, not replaced', async () => {
    await expect(
      prepareInjection(
        request({ JAVA_TOOL_OPTIONS: '-Djavax.net.ssl.trustStore=NONE -Djavax.net.ssl.trustStoreType=PKCS11' }, [
          'java',
        ]),
      ),
    ).rejects.toThrow(
      /^JAVA_TOOL_OPTIONS names the trustStore 'NONE' of type PKCS11, which org-ca cannot merge: expected a JKS or PKCS12 file; set tools without java to leave Java alone\.$/,
    );
  });
});

test("wget2rc: the user ~/.wget2rc settings are kept, the CA line is org-ca's", async () => {
  const req = request({}, ['wget2']);
  const home = req.env.HOME!;
  execFileSync('mkdir', ['-p', home]);
  writeFileSync(join(home, '.wget2rc'), 'tries = 2\nca-certificate = /old.pem\n');
  const injection = await prepareInjection(req);
  expect(readFileSync(injection.plan.files.wget2rc!, 'utf8')).toBe(
    `tries = 2\n# written by org-ca: wget2 reads no CA variable, only its wget2rc\nca-certificate = ${injection.plan.files.bundle}\n`,
  );
});
