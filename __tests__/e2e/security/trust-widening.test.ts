/**
 * Attack: trust wider than the user asked for. A pin that did not limit (the org CA plus another CA, pinned to the
 * org CA, exported both), and a bundle that handed every replacing variable's readers Node's bundled roots on top of
 * the OS store. Guards: PIN_LIMITS (src/ca/validate.ts), EXACT_TRUST (src/tools/runner-trust.ts, src/tools/injection-plan.ts). The real
 * CLI; the OS store's set read independently from the distribution's own bundle file.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';
import { cliEntry, runCli } from '../../support/cli.js';
import { mintRoot } from '../../support/pki.js';

const OS_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function fingerprints(pemText: string): Set<string> {
  const out = new Set<string>();
  for (const block of pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    out.add(createHash('sha256').update(new X509Certificate(block).raw).digest('hex'));
  }
  return out;
}

const REPLACING = TOOL_REGISTRY.filter((e) => e.file === 'bundle').map((e) => e.variable);

let work: string;
let org: ReturnType<typeof mintRoot>;
let other: ReturnType<typeof mintRoot>;
let orgFp: string;
let otherFp: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-widening-'));
  org = mintRoot({ cn: 'Widening Org Root', org: 'Widening Org' });
  other = mintRoot({ cn: 'Someone Else Root', org: 'Elsewhere' });
  orgFp = createHash('sha256').update(org.der).digest('hex');
  otherFp = createHash('sha256').update(other.der).digest('hex');
  writeFileSync(join(work, 'org.pem'), org.certPem);
  writeFileSync(join(work, 'both.pem'), org.certPem + other.certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function env(
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<{ status: number | null; stderr: string; vars: Record<string, string> }> {
  const r = await runCli(await cliEntry(), ['env', '--format', 'dotenv', ...args], {
    env: { PATH: process.env.PATH, HOME: work, ...extraEnv },
  });
  const vars: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)="(.*)"$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return { status: r.status, stderr: r.stderr, vars };
}

test('a bundle of the org CA and another CA, pinned to the org CA, trusts the org CA only, and says what it dropped', async () => {
  const r = await env(['--ca', join(work, 'both.pem'), '--fingerprint', orgFp, '--dir', join(work, 'pinned')]);
  expect(r.status).toBe(0);
  expect([...fingerprints(readFileSync(r.vars.NODE_EXTRA_CA_CERTS!, 'utf8'))]).toEqual([orgFp]);
  for (const name of REPLACING.filter((n) => r.vars[n]))
    expect(fingerprints(readFileSync(r.vars[name]!, 'utf8')).has(otherFp)).toBe(false);
  expect(r.stderr).toMatch(
    /'CN=Someone Else Root, O=Elsewhere' \(SHA-256 [0-9A-F:]{95}\) was dropped: it is neither the certificate --fingerprint names nor an issuer of it/,
  );
});

(existsSync(OS_BUNDLE) ? test : test.skip)(
  'every replacing variable’s file holds exactly what its readers trusted before (the OS store), plus the org CA',
  async () => {
    const before = fingerprints(readFileSync(OS_BUNDLE, 'utf8'));
    const r = await env(['--ca', join(work, 'org.pem'), '--dir', join(work, 'exact')]);
    expect(r.status).toBe(0);
    const expected = [...before, orgFp].sort();
    const checked = REPLACING.filter((n) => r.vars[n]);
    expect(checked.length).toBeGreaterThan(5);
    for (const name of checked)
      expect({ name, set: [...fingerprints(readFileSync(r.vars[name]!, 'utf8'))].sort() }).toEqual({
        name,
        set: expected,
      });
    // A root Node bundles but this OS store does not hold is not trusted by them now either.
    const nodeOnly = [...fingerprints(rootCertificates.join('\n'))].filter((fp) => !before.has(fp));
    for (const fp of nodeOnly) expect(fingerprints(readFileSync(r.vars.SSL_CERT_FILE!, 'utf8')).has(fp)).toBe(false);
  },
);

test('a replacing variable the job had set to its own file: that file’s roots plus the org CA, nothing from the OS store', async () => {
  const own = join(work, 'own.pem');
  const a = mintRoot({ cn: 'Own Root A' });
  const b = mintRoot({ cn: 'Own Root B' });
  writeFileSync(own, a.certPem + b.certPem);
  const r = await env(['--ca', join(work, 'org.pem'), '--dir', join(work, 'own')], { REQUESTS_CA_BUNDLE: own });
  expect(r.status).toBe(0);
  const set = [...fingerprints(readFileSync(r.vars.REQUESTS_CA_BUNDLE!, 'utf8'))].sort();
  expect(set).toEqual(
    [createHash('sha256').update(a.der).digest('hex'), createHash('sha256').update(b.der).digest('hex'), orgFp].sort(),
  );
  // …and the user's own roots stay theirs: SSL_CERT_FILE's readers do not get them.
  expect(
    fingerprints(readFileSync(r.vars.SSL_CERT_FILE!, 'utf8')).has(createHash('sha256').update(a.der).digest('hex')),
  ).toBe(false);
  expect(r.vars.REQUESTS_CA_BUNDLE).not.toBe(own);
});

test('npm with a cafile in its npmrc: overridden by Node’s own roots plus the org CA, the set npm reads without it', async () => {
  const home = join(work, 'npm-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.npmrc'), `cafile=${join(work, 'org.pem')}\n`);
  const r = await runCli(
    await cliEntry(),
    ['env', '--format', 'dotenv', '--ca', join(work, 'org.pem'), '--dir', join(work, 'npm'), '--tools', 'node'],
    { env: { PATH: process.env.PATH, HOME: home } },
  );
  const file = /^npm_config_cafile="(.*)"$/m.exec(r.stdout)![1]!;
  const set = fingerprints(readFileSync(file, 'utf8'));
  for (const fp of fingerprints(rootCertificates.join('\n'))) expect(set.has(fp)).toBe(true);
  expect(set.has(orgFp)).toBe(true);
  expect(set.size).toBe(fingerprints(rootCertificates.join('\n')).size + 1);
});
