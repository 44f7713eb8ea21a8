/**
 * `org-ca ca export` and `env --strategy native` without --ca: the org CA is taken from the OS store, found the way
 * `detect` finds it (a real mitmproxy on loopback re-signing the lab's upstream), or by fingerprint offline; never
 * a certificate a server sent.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFromDer, sha256Hex } from '../../../src/ca/certificate.js';
import { pemCertificates } from '../../../src/ca/bundle.js';
import { cliEntry } from '../../support/cli.js';
import { useInspectionLab, type Lab } from '../../support/inspection/index.js';
import { makeStoreDir, runWithStore } from '../../support/os-store.js';

let BIN: string;
beforeAll(async () => {
  BIN = await cliEntry();
}, 300_000);
const lab = useInspectionLab({ mitmproxy: true });
const fp = (issued: { der: Buffer }): string => certificateFromDer(issued.der).fingerprint;

function cli(
  l: Lab,
  args: string[],
  extra: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: l.jobEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

/** A machine whose IT put the org CA into the OS store (OpenSSL's default file is Node's 'system' store). */
function osStoreWithOrgCa(l: Lab): Record<string, string> {
  const store = join(l.scratch('os-store'), 'system.pem');
  writeFileSync(store, l.pki.orgCa.certPem + l.pki.publicRoot.certPem);
  return { SSL_CERT_FILE: store };
}
const through = (l: Lab): Record<string, string> => ({ HTTPS_PROXY: l.mitmproxy!.url, https_proxy: l.mitmproxy!.url });

describe('org-ca ca export', () => {
  test('behind the proxy: writes the OS store’s org CA (not the leaf the proxy sent), says what each probe saw; exit 0', async () => {
    const l = lab();
    const out = join(l.scratch('export'), 'org-root.pem');
    const r = await cli(l, ['ca', 'export', l.upstream.url, '--out', out, '--timeout', '10s'], {
      ...osStoreWithOrgCa(l),
      ...through(l),
    });
    expect(`${r.code} ${r.stderr}`).toMatch(/^0 /);
    expect(r.stdout.length).toBe(0);
    const written = pemCertificates(readFileSync(out, 'utf8'));
    expect(written.map((der) => sha256Hex(der))).toEqual([fp(l.pki.orgCa)]);
    expect(r.stderr).toContain(
      `${l.upstream.url} via proxy ${l.mitmproxy!.url} (https_proxy): os-trusted (signed by CN=Example Org Inspection CA, O=Example Org`,
    );
    expect(r.stderr).not.toContain('BEGIN CERTIFICATE');
  });

  test('--fingerprint: no network, the OS store’s certificate, as PEM on stdout or DER in a file', async () => {
    const l = lab();
    const store = osStoreWithOrgCa(l);
    const pem = await cli(
      l,
      [
        'ca',
        'export',
        '--fingerprint',
        fp(l.pki.orgCa)
          .toUpperCase()
          .replace(/(..)(?!$)/g, '$1:'),
      ],
      store,
    );
    expect(pem.code).toBe(0);
    expect(pemCertificates(pem.stdout.toString()).map((der) => sha256Hex(der))).toEqual([fp(l.pki.orgCa)]);
    const der = join(l.scratch('export'), 'org-root.der');
    const r = await cli(l, ['ca', 'export', '--fingerprint', fp(l.pki.orgCa), '--format', 'der', '--out', der], store);
    expect(r.code).toBe(0);
    expect(sha256Hex(readFileSync(der))).toBe(fp(l.pki.orgCa));
  });

  test.each([
    [
      'not inspected (direct, the upstream’s root declared public)',
      (l: Lab) => ['ca', 'export', l.upstream.url, '--public-roots', l.pki.paths.publicRoot],
      (l: Lab) => osStoreWithOrgCa(l),
      1,
      /No org CA found in the OS store: TLS is not inspected on this path/,
    ],
    [
      'inspected by a CA the OS store does not hold',
      (l: Lab) => ['ca', 'export', l.upstream.url],
      (l: Lab) => ({ SSL_CERT_FILE: l.pki.paths.publicRoot, ...through(l) }),
      1,
      /No org CA found in the OS store: the CA that re-signs TLS here is not in the OS store \(.*: unknown\)/,
    ],
    [
      'a fingerprint the OS store does not hold',
      () => ['ca', 'export', '--fingerprint', 'ab'.repeat(32)],
      (l: Lab) => osStoreWithOrgCa(l),
      1,
      /No certificate with SHA-256 AB:AB:.* is in the OS store/,
    ],
    [
      'a malformed fingerprint',
      () => ['ca', 'export', '--fingerprint', 'abc'],
      (l: Lab) => osStoreWithOrgCa(l),
      2,
      /--fingerprint 'abc' is not a SHA-256 fingerprint/,
    ],
    [
      'DER to a terminal',
      () => ['ca', 'export', '--format', 'der'],
      () => ({}),
      2,
      /--format der is binary: give --out FILE/,
    ],
    [
      'an unknown subcommand',
      () => ['ca', 'list'],
      () => ({}),
      2,
      /ca: unknown subcommand 'list'. Expected: org-ca ca export/,
    ],
    [
      'a mistyped subcommand',
      () => ['ca', 'exprot'],
      () => ({}),
      2,
      /ca: unknown subcommand 'exprot'. Did you mean 'export'\? Expected: org-ca ca export/,
    ],
  ])('%s: one line, exit %s', async (_name, args, env, code, message) => {
    const l = lab();
    const r = await cli(l, args(l), env(l));
    expect(r.code).toBe(code);
    expect(r.stdout.length).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(message);
    expect(lines.filter((line) => !line.startsWith('org-ca ca export: http'))).toHaveLength(1);
  });
});

describe('env and exec without --ca', () => {
  test('--strategy native: the OS store’s org CA is used; node trusts the proxy with the printed switches alone', async () => {
    const l = lab();
    // The machine's OS store with the org CA added, mounted over /etc/ssl/certs for this process tree only.
    const store = makeStoreDir(l.scratch('native-store'), [l.pki.orgCa.certPem]);
    // Node's fetch goes through HTTPS_PROXY only when told to (Node 24: NODE_USE_ENV_PROXY).
    const env = l.jobEnv({ ...through(l), NODE_USE_ENV_PROXY: '1', NODE_EXTRA_CA_CERTS: undefined });
    const printed = await runWithStore(
      store,
      [process.execPath, BIN, 'env', '--strategy', 'native', '--probe-urls', l.upstream.url, '--format', 'dotenv'],
      env,
    );
    expect(`${printed.code} ${printed.stderr}`).toMatch(/^0 /);
    expect(printed.stderr).toMatch(
      /no --ca: the org CA is the one the OS store holds: CN=Example Org Inspection CA, O=Example Org/,
    );
    expect(printed.stdout).toMatch(/^NODE_USE_SYSTEM_CA="?1"?$/m);
    expect(printed.stdout).not.toMatch(/NODE_EXTRA_CA_CERTS/);
    const fetchUpstream = `fetch(${JSON.stringify(l.upstream.url)}).then((r) => console.log('status', r.status), (e) => { console.log(String(e.cause ?? e)); process.exit(3); })`;
    const probed = await runWithStore(
      store,
      [
        process.execPath,
        BIN,
        'exec',
        '--strategy',
        'native',
        '--probe-urls',
        l.upstream.url,
        '--',
        process.execPath,
        '-e',
        fetchUpstream,
      ],
      env,
    );
    expect(`${probed.code} ${probed.stdout}`).toBe('0 status 200\n');
    // and without the switches, the same fetch through the proxy fails: the switches are what made it pass
    const bare = await runWithStore(store, [process.execPath, '-e', fetchUpstream], env);
    expect(bare.code).toBe(3);
  });

  test('--strategy env still needs --ca, and says where the OS store’s CA can be had', async () => {
    const l = lab();
    const r = await cli(l, ['env'], osStoreWithOrgCa(l));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^org-ca env: --ca FILE is required \(with --strategy native, the CA your OS store holds is used instead; org-ca ca export writes it to a file/,
    );
  });
});
