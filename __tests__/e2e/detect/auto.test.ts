/**
 * Issue 3's end-to-end proof: the bundled action with `when: auto`, run as the runner runs it, probes the job's own
 * network path through real inspection proxies on loopback and decides by what it sees.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFromDer } from '../../../src/ca/certificate.js';
import {
  freePort,
  runAction,
  runClients,
  useInspectionLab,
  type ActionRun,
  type Lab,
} from '../../support/inspection/index.js';
import { escapeMarkdown } from '../../../src/output/markdown.js';

const lab = useInspectionLab({ mitmproxy: true, squid: true, squidAuth: true, foreign: true });

const fingerprint = (issued: { der: Buffer }): string => certificateFromDer(issued.der).fingerprint;

/** The main step in auto mode, probing only the lab's upstream (never the internet). */
async function auto(
  l: Lab,
  options: {
    inputs?: Record<string, string>;
    proxy?: string;
    env?: Record<string, string | undefined>;
    runnerEnvironment?: string;
  },
): Promise<ActionRun> {
  const proxyEnv = options.proxy ? { HTTPS_PROXY: options.proxy, https_proxy: options.proxy } : {};
  return runAction('main', {
    inputs: { 'probe-urls': l.upstream.url, 'probe-timeout': '4s', ...options.inputs },
    env: l.jobEnv({ ...proxyEnv, ...options.env }),
    ...(options.runnerEnvironment ? { runnerEnvironment: options.runnerEnvironment } : {}),
    workRoot: l.dir,
  });
}

describe('when: auto behind the org proxies injects', () => {
  test.each([
    [
      'mitmproxy (single-tier org CA)',
      'mitmproxy',
      'orgCa',
      'CN=Example Org Inspection CA, O=Example Org',
      ['curl', 'python'],
    ],
    [
      'squid ssl-bump (org root given, chain sent with intermediate and root)',
      'squid',
      'orgRoot',
      'CN=Example Org Issuing CA 1, O=Example Org',
      ['curl', 'python'],
    ],
    // Detection anchors in the intermediate; of the clients only those that accept a partial chain (curl sets
    // X509_V_FLAG_PARTIAL_CHAIN) then work, which is why the action warns to give the root too.
    [
      'squid ssl-bump (the issuing intermediate given instead of the root)',
      'squid',
      'orgIntermediate',
      'CN=Example Org Issuing CA 1, O=Example Org',
      ['curl'],
    ],
  ] as const)('%s', async (_name, proxyName, caName, issuer, clients) => {
    const l = lab();
    const proxy = l[proxyName]!;
    const run = await auto(l, { inputs: { 'ca-file': l.pki.paths[caName] }, proxy: proxy.url });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({
      exit: 0,
      injected: 'true',
      reason: 'inspected-org-ca',
      inspected: 'true',
      issuer,
    });
    // the CA alone, or a merged copy where the machine already sets NODE_EXTRA_CA_CERTS (kept trust, issue 11)
    const kept = l.jobEnv().NODE_EXTRA_CA_CERTS
      ? join(run.state['files-dir']!, 'node_extra_ca_certs.pem')
      : run.outputs['ca-path'];
    expect(run.env.NODE_EXTRA_CA_CERTS).toBe(kept);
    expect(run.stdout).toContain(
      `${l.upstream.url} via proxy ${proxy.url} (https_proxy) → org-ca: anchors in the provided CA`,
    );
    // the job summary shows the verdict and the chain as presented
    expect(run.summary).toContain('### TLS inspection probes');
    expect(run.summary).toContain('🟠 org-ca');
    expect(run.summary).toContain(`Chain presented for ${escapeMarkdown(l.upstream.url)}`);
    // and the injected settings make real clients work through that proxy
    const after = await runClients(clients, {
      env: l.jobEnv(run.env),
      proxy: proxy.url,
      upstream: l.upstream.url,
      workDir: l.scratch('auto'),
    });
    expect(
      Object.values(after)
        .filter((r) => !r.ok)
        .map((r) => `${r.client}: ${r.output}`),
    ).toEqual([]);
  });

  test('through the squid that wants basic auth, with the credentials from the proxy URL', async () => {
    const l = lab();
    const run = await auto(l, { inputs: { 'ca-file': l.pki.paths.orgRoot }, proxy: l.squidAuth!.authUrl! });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({
      exit: 0,
      injected: 'true',
      reason: 'inspected-org-ca',
    });
    // the password never reaches the log or the summary; it is only named to the runner to mask (a line never shown)
    expect(run.stdout.split('\n')).toContain(`::add-mask::${l.squidAuth!.credentials!.password}`);
    const shown = run.stdout
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(`${shown}${run.summary}${run.files.output}`).not.toContain(l.squidAuth!.credentials!.password);
    // without credentials, the probe reports the proxy's 407 and the step follows on-unreachable
    const denied = await auto(l, {
      inputs: { 'ca-file': l.pki.paths.orgRoot, 'on-unreachable': 'fail' },
      proxy: l.squidAuth!.url,
    });
    expect(denied.exitCode).toBe(1);
    expect(denied.stdout).toMatch(
      /unreachable: proxy-auth: proxy http:\/\/127\.0\.0\.1:\d+ answered CONNECT with 'HTTP\/1\.1 407 Proxy Authentication Required'/,
    );
  });

  test('no CA given, the proxy root in the OS store: that root is exported and injected', async () => {
    const l = lab();
    // OpenSSL's default file is what Node reads as the 'system' store; pointing it at the org CA is how a machine
    // prepared by IT looks to this test.
    const store = join(l.scratch('os-store'), 'system.pem');
    writeFileSync(store, l.pki.orgCa.certPem);
    const run = await auto(l, { proxy: l.mitmproxy!.url, env: { SSL_CERT_FILE: store } });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({
      exit: 0,
      injected: 'true',
      reason: 'inspected-os-trusted',
      fingerprint: fingerprint(l.pki.orgCa),
    });
  });
});

describe('when: auto elsewhere', () => {
  test('direct path to a server under a declared public root: nothing changes', async () => {
    const l = lab();
    const run = await auto(l, { inputs: { 'ca-file': l.pki.paths.orgCa, 'public-roots': l.pki.paths.publicRoot } });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({
      exit: 0,
      injected: 'false',
      reason: 'not-inspected',
      inspected: 'false',
      issuer: '',
    });
    expect(run.env).toEqual({});
    expect(run.summary).toContain('🟢 direct');
    // without public-roots the same server's root is unknown: that is what public-roots is for
    const strict = await auto(l, { inputs: { 'ca-file': l.pki.paths.orgCa } });
    expect(strict.exitCode).toBe(1);
    expect(strict.stdout).toContain("'CN=Lab Public Root CA, O=Lab Public Trust'");
  });

  test('the foreign proxy while a CA was given fails the step loudly as ca-mismatch, naming its issuer and the CA given', async () => {
    const l = lab();
    const run = await auto(l, { inputs: { 'ca-file': l.pki.paths.orgCa }, proxy: l.foreign!.url });
    expect(run.exitCode).toBe(1);
    const error = run.stdout.split('\n').find((line) => line.startsWith('::error::'));
    // mitmproxy sends the leaf alone: the issuer is named, and the top of what was sent is fingerprinted
    expect(error).toMatch(
      /TLS inspection by a CA other than the one given: .* is re-signed by an unknown issuer 'CN=Foreign Appliance CA, O=Nobody We Know' \(not sent; the chain as sent tops out at 'CN=127.0.0.1' \(SHA-256 [0-9A-F:]{95}\)\)/,
    );
    expect(error).toContain("the CA given is 'CN=Example Org Inspection CA, O=Example Org'");
    expect(run.outputs).toMatchObject({ injected: 'false', reason: 'ca-mismatch', inspected: 'true' });
    expect(run.env).toEqual({});
    // on-unknown: warn turns it into a warning, and nothing is injected
    const warned = await auto(l, {
      inputs: { 'ca-file': l.pki.paths.orgCa, 'on-unknown': 'warn' },
      proxy: l.foreign!.url,
    });
    expect({ exit: warned.exitCode, ...warned.outputs }).toMatchObject({
      exit: 0,
      injected: 'false',
      reason: 'ca-mismatch',
    });
    expect(warned.stdout).toMatch(/::warning::.*Foreign Appliance CA/);
  });

  test('the foreign proxy with no CA given (an empty ca:, as a misspelt secret gives) fails as unknown-issuer, saying the input was empty', async () => {
    const l = lab();
    const run = await auto(l, { inputs: { ca: '' }, proxy: l.foreign!.url });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::TLS inspection by an issuer nobody provided: .*'CN=Foreign Appliance CA, O=Nobody We Know'/m,
    );
    expect(run.stdout).toMatch(
      /^::error::.*No CA was given: ca and ca-file are both empty \(a secret that does not exist reads as empty: check its name\)/m,
    );
    expect(run.outputs).toMatchObject({ injected: 'false', reason: 'unknown-issuer', inspected: 'true' });
  });

  test('GitHub-hosted runner: a no-op that probes nothing', async () => {
    const l = lab();
    const dead = await freePort();
    // a dead proxy with on-unreachable: fail would fail the step, had it probed
    const run = await auto(l, {
      inputs: { 'ca-file': l.pki.paths.orgCa, 'on-unreachable': 'fail' },
      proxy: `http://127.0.0.1:${dead}`,
      runnerEnvironment: 'github-hosted',
    });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({
      exit: 0,
      injected: 'false',
      reason: 'github-hosted-runner',
      inspected: 'false',
    });
    expect(run.stdout).not.toContain('Probing');
  });

  test.each([
    ['inject', 0, 'true', 'unreachable-inject'],
    ['skip', 0, 'false', 'unreachable-skip'],
    ['fail', 1, 'false', 'unreachable'],
  ])('proxy port closed, on-unreachable: %s', async (mode, exit, injected, reason) => {
    const l = lab();
    const dead = await freePort();
    const t0 = performance.now();
    const run = await auto(l, {
      inputs: { 'ca-file': l.pki.paths.orgCa, 'on-unreachable': mode },
      proxy: `http://127.0.0.1:${dead}`,
    });
    expect({ exit: run.exitCode, ...run.outputs }).toMatchObject({ exit, injected, reason, inspected: 'false' });
    expect(run.stdout).toContain(
      `unreachable: refused: proxy http://127.0.0.1:${dead} refused the connection (ECONNREFUSED)`,
    );
    if (mode === 'inject')
      expect(run.stdout).toMatch(/::warning::No probe got an answer .*injecting the CA given anyway/);
    // a refused connection answers at once: nobody waits for the 4 s deadline
    expect(performance.now() - t0).toBeLessThan(4000);
  });
});
