/**
 * End to end, on images built with buildah and checked by the bundled CLI: the CA in the encodings real projects
 * use (wrapped and indented base64, escaped PEM), an issuing intermediate in every container, and the settings
 * that point tools at a CA wherever they persist. Clean images with real public bundles raise nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJks } from '../../../src/ca/keystore.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { mintIntermediate, mintRoot } from '../../support/pki.js';
import { build, checkImage, push, type Run, setUpLeakSuite, tearDownLeakSuite } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const issuing = mintIntermediate(org, { cn: 'Org Issuing CA 1', org: 'Org' });
const orgFp = sha256Hex(org.der);
const issuingFp = sha256Hex(issuing.der);
let work: string;
let cli: string;
let caFile: string;

beforeAll(async () => ({ work, caFile, cli } = await setUpLeakSuite('org-ca-leak-enc-', org.certPem)), 600_000);

afterAll(() => tearDownLeakSuite(work));

function check(name: string, spec: Parameters<typeof build>[1]): { run: Run; report: Report } {
  const image = build(name, spec);
  const target = join(work, `${name}.tar`);
  push(image, `oci-archive:${target}`);
  return checkImage(cli, target, ['--ca', caFile]);
}

const found = (r: Report): string[] => r.findings.map((f) => `${f.kind}@${f.path}`).sort();
/** coreutils `base64` as users run it: 76 columns. */
const base64Cli = (file: string): string => execFileSync('base64', [file], { encoding: 'utf8' });
const indent = (text: string, spaces: number): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(spaces) + l)
    .join('\n');

test('the CA and its issuing intermediate in realistic encodings are each found, with kind and path', () => {
  const pemFile = join(work, 'org.pem');
  writeFileSync(pemFile, org.certPem);
  const derFile = join(work, 'issuing.der');
  writeFileSync(derFile, issuing.der);
  const issuingPem = join(work, 'issuing.pem');
  writeFileSync(issuingPem, issuing.certPem);
  const p12 = execFileSync('openssl', [
    'pkcs12',
    '-export',
    '-nokeys',
    '-in',
    issuingPem,
    '-name',
    'issuing',
    '-passout',
    'pass:changeit',
  ]);
  writeFileSync(join(work, 'org.der'), org.der);
  const lines = org.certPem.trim().split('\n');
  const files: Record<string, string | Buffer> = {
    // Helm values: `base64 ca.pem` (76 columns) pasted into a block scalar.
    'values.yaml': `ingress:\n  enabled: true\ntls:\n  caBundle: |\n${indent(base64Cli(pemFile), 4)}\n  insecure: false\n`,
    // A Kubernetes Secret whose data field is the base64 of the DER, wrapped at 76 and indented.
    'secret.yaml': `apiVersion: v1\nkind: Secret\ndata:\n  ca.der: >-\n${indent(base64Cli(join(work, 'org.der')), 4)}\n`,
    'settings.json': JSON.stringify({ tls: { ca: lines.join('\\n') } }),
    'chain.pem': issuing.certPem,
    'issuing.der': issuing.der,
    'issuing-b64.txt': base64Cli(derFile),
    'issuing.jks': writeJks([{ alias: 'issuing', der: issuing.der }]),
    'issuing.p12': p12,
  };
  const { run, report } = check('leak-enc-encodings', {
    containerfile: 'FROM BASE\nCOPY . /app/\nRUN rm /app/Containerfile',
    files,
  });
  expect(report.unscanned).toEqual([]);
  expect(found(report)).toEqual(
    [
      'base64-pem@/app/values.yaml',
      'pem-body@/app/secret.yaml',
      'pem@/app/settings.json',
      'pem-intermediate@/app/chain.pem',
      'der-intermediate@/app/issuing.der',
      'base64-der-intermediate@/app/issuing-b64.txt',
      'jks-intermediate@/app/issuing.jks',
      'pkcs12-intermediate@/app/issuing.p12',
    ].sort(),
  );
  for (const f of report.findings) {
    expect(f.fingerprint).toBe(f.kind.includes('intermediate') ? issuingFp : orgFp);
    if (f.kind.includes('intermediate')) expect(f.message).toContain('intermediate CA signed by the org CA');
  }
  expect(run.status).toBe(1);
}, 600_000);

test('settings that point tools at a CA, wherever they persist, are each found', () => {
  const missing = '/run/secrets/org_ca';
  const { run, report } = check('leak-enc-pointers', {
    containerfile: [
      'FROM BASE',
      'COPY org-ca.sh /etc/profile.d/org-ca.sh',
      'COPY 99org-ca /etc/apt/apt.conf.d/99org-ca',
      'COPY condarc /root/.condarc',
      'COPY gradle.properties /root/.gradle/gradle.properties',
      `ENV JAVA_TOOL_OPTIONS="-Xmx512m -Djavax.net.ssl.trustStore=/run/secrets/org_truststore -Djavax.net.ssl.trustStorePassword=changeit"`,
      `ENV npm_config_cafile=${missing}`,
      // The image's own bundle: not a leak.
      'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
    ].join('\n'),
    files: {
      'org-ca.sh': `# left by the build\nexport REQUESTS_CA_BUNDLE=${missing}\n`,
      '99org-ca': `Acquire::https::CAInfo "${missing}";\n`,
      condarc: `channels:\n  - defaults\nssl_verify: ${missing}\n`,
      'gradle.properties': `org.gradle.daemon=false\nsystemProp.javax.net.ssl.trustStore=/run/secrets/org_truststore\n`,
    },
  });
  expect(report.unscanned).toEqual([]);
  expect(found(report)).toEqual(
    [
      'pointer-missing@/etc/profile.d/org-ca.sh',
      'pointer-missing@/etc/apt/apt.conf.d/99org-ca',
      'pointer-missing@/root/.condarc',
      'pointer-missing@/root/.gradle/gradle.properties',
      'pointer-missing@config.Env[1]',
      'pointer-missing@config.Env[2]',
    ].sort(),
  );
  const env = report.findings.filter((f) => f.path.startsWith('config.Env'));
  expect(env.map((f) => f.message).join('\n')).toMatch(
    /JAVA_TOOL_OPTIONS -Djavax\.net\.ssl\.trustStore in config\.Env\[1\] points at \/run\/secrets\/org_truststore/,
  );
  expect(env.map((f) => f.message).join('\n')).toMatch(
    /npm_config_cafile in config\.Env\[2\] points at \/run\/secrets\/org_ca/,
  );
  expect(run.status).toBe(1);
}, 600_000);

test('a clean image with the real public bundles, their base64 and pointers at the system bundle raises nothing', () => {
  const bundleFile = '/etc/ssl/certs/ca-certificates.crt';
  const { run, report } = check('leak-enc-clean', {
    containerfile: [
      'FROM BASE',
      'COPY cacerts /usr/lib/jvm/java-17/lib/security/cacerts',
      'COPY bundle-b64.yaml /app/bundle.yaml',
      'COPY environment /etc/environment',
      'COPY npmrc /root/.npmrc',
      'ENV JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStore=/usr/lib/jvm/java-17/lib/security/cacerts',
      'ENV SSL_CERT_DIR=/etc/ssl/certs',
    ].join('\n'),
    files: {
      cacerts: readFileSync('/etc/ssl/certs/java/cacerts'),
      'bundle-b64.yaml': `data:\n  ca-bundle.crt: |\n${indent(base64Cli(bundleFile), 4)}\n`,
      environment: `PATH="/usr/bin:/bin"\nREQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\n`,
      npmrc: 'cafile=/etc/ssl/certs/ca-certificates.crt\n',
    },
  });
  expect(report.unscanned).toEqual([]);
  expect(report.findings).toEqual([]);
  expect(run.status).toBe(0);
}, 600_000);
