/**
 * Issue 2's end-to-end proof: the bundled action, run as the Actions runner runs it, makes real clients trust the org
 * CA behind real TLS-inspection proxies (mitmproxy re-signing with a single-tier CA; squid ssl-bump re-signing with an
 * issuing intermediate and sending the full chain), and its post step leaves nothing behind.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  buildDist,
  CLIENT_NAMES,
  runAction,
  runClients,
  useInspectionLab,
  waitFor,
  type ActionRun,
  type ClientName,
  type ClientResult,
  type Lab,
  type Proxy,
} from '../../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true, squid: true });
// The bundle under test is built once, outside any one test's time.
beforeAll(() => buildDist(), 600000);

/**
 * What NODE_EXTRA_CA_CERTS must be after the step: the CA alone, or — where the machine already sets it (this one
 * points it at the system bundle) — a merged copy that keeps those certificates too.
 */
function expectedNodeExtra(l: Lab, run: ActionRun): string {
  return l.jobEnv().NODE_EXTRA_CA_CERTS
    ? join(run.state['files-dir']!, 'node_extra_ca_certs.pem')
    : run.outputs['ca-path']!;
}

/**
 * Each client's own error behind each proxy, as measured. mitmproxy presents the leaf alone (issuer unknown);
 * squid sends leaf → intermediate → root, so OpenSSL-based clients report the self-signed root in the chain.
 */
const FAILURE: Record<'mitmproxy' | 'squid', Record<ClientName, RegExp>> = {
  mitmproxy: {
    node: /cause: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
    python: /CERTIFICATE_VERIFY_FAILED\] certificate verify failed: unable to get local issuer certificate/,
    curl: /curl: \(60\) SSL certificate problem: unable to get local issuer certificate/,
    git: /server certificate verification failed/,
    wget: /The certificate of .127\.0\.0\.1. (is not trusted|doesn't have a known issuer)/,
    java: /PKIX path building failed/,
    npm: /npm error code (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
    // LWP::Protocol::https on Debian: IO::Socket::SSL against /etc/ssl/certs/ca-certificates.crt, SSL_CERT_FILE ignored;
    // through a proxy the failure is in the CONNECT tunnel's TLS upgrade
    perl: /500 SSL upgrade failed: SSL connect attempt failed error:0A000086:SSL routines::certificate verify failed/,
  },
  squid: {
    node: /cause: SELF_SIGNED_CERT_IN_CHAIN/,
    python: /CERTIFICATE_VERIFY_FAILED\] certificate verify failed: self-signed certificate in certificate chain/,
    curl: /curl: \(60\) SSL certificate problem: self-signed certificate in certificate chain/,
    git: /server certificate verification failed/,
    wget: /The certificate of .127\.0\.0\.1. (is not trusted|doesn't have a known issuer)/,
    java: /PKIX path building failed/,
    npm: /npm error code SELF_SIGNED_CERT_IN_CHAIN/,
    perl: /500 SSL upgrade failed: SSL connect attempt failed error:0A000086:SSL routines::certificate verify failed/,
  },
};
const EXIT: Partial<Record<ClientName, number>> = { curl: 60, git: 128, wget: 5 };

function describeResult(r: ClientResult): string {
  return `${r.client} exit ${r.exitCode}: ${r.output.trim().split('\n').slice(0, 6).join(' | ')}`;
}

function expectAll(results: Record<ClientName, ClientResult>, ok: boolean): void {
  const wrong = Object.values(results).filter((r) => r.ok !== ok);
  expect(wrong.map(describeResult)).toEqual([]);
}

/** Every result's request is in the proxy's log: the client did go through the proxy, not around it. */
function expectThroughProxy(proxy: Proxy, results: Record<ClientName, ClientResult>): void {
  const missed = Object.values(results).filter((r) => !proxy.saw(r.marker));
  expect(missed.map((r) => `${r.client} (${r.marker}) not in the ${proxy.kind} log`)).toEqual([]);
}

function clientsVia(l: Lab, proxy: Proxy, env: Record<string, string>, names: readonly ClientName[] = CLIENT_NAMES) {
  return runClients(names, { env, proxy: proxy.url, upstream: l.upstream.url, workDir: l.scratch(proxy.kind) });
}

/**
 * The main step with issue 2's runner-kind decision (`when: self-hosted`): the default `auto` probes the internet,
 * which these loopback tests must not do (its own end-to-end tests point the probes at the lab).
 */
async function main(
  l: Lab,
  inputs: Record<string, string>,
  extraEnv: Record<string, string | undefined> = {},
  runnerEnvironment = 'self-hosted',
): Promise<ActionRun> {
  return runAction('main', {
    inputs: { when: 'self-hosted', ...inputs },
    env: l.jobEnv(extraEnv),
    runnerEnvironment,
    workRoot: l.dir,
  });
}

/** Everything under a directory (the runner's RUNNER_TEMP after the post step must hold nothing of ours). */
function listTree(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

describe.each([
  { proxy: 'mitmproxy' as const, caLabel: 'the single-tier org CA', ca: (l: Lab) => l.pki.paths.orgCa },
  { proxy: 'squid' as const, caLabel: 'the org root', ca: (l: Lab) => l.pki.paths.orgRoot },
  { proxy: 'squid' as const, caLabel: 'org root + intermediate', ca: (l: Lab) => l.pki.paths.orgChain },
])('behind $proxy, given $caLabel', ({ proxy: proxyName, ca }) => {
  let run: ActionRun;

  test('every client fails with its own TLS error before the step', async () => {
    const l = lab();
    const proxy = l[proxyName]!;
    const before = proxy.tunnels();
    const results = await clientsVia(l, proxy, l.jobEnv());
    expectAll(results, false);
    // each failure happened inside the proxy's tunnel, not on a direct connection
    await waitFor(() => proxy.tunnels() - before >= CLIENT_NAMES.length);
    expect(proxy.tunnels() - before).toBeGreaterThanOrEqual(CLIENT_NAMES.length);
    for (const r of Object.values(results)) {
      expect({ client: r.client, output: r.output }).toEqual({
        client: r.client,
        output: expect.stringMatching(FAILURE[proxyName][r.client as ClientName]),
      });
      const exit = EXIT[r.client as ClientName];
      if (exit !== undefined)
        expect({ client: r.client, exitCode: r.exitCode }).toEqual({ client: r.client, exitCode: exit });
    }
  }, 120000);

  test('the main step injects, and then every client succeeds through the proxy', async () => {
    const l = lab();
    const proxy = l[proxyName]!;
    run = await main(l, { 'ca-file': ca(l) });
    expect({ exitCode: run.exitCode, errors: run.stdout.split('\n').filter((x) => x.startsWith('::error::')) }).toEqual(
      { exitCode: 0, errors: [] },
    );
    expect(run.outputs).toMatchObject({
      injected: 'true',
      reason: 'self-hosted-runner',
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(run.outputs['ca-path']).toBe(join(run.state['files-dir']!, 'org-ca.pem'));
    expect(run.env).toMatchObject({
      NODE_EXTRA_CA_CERTS: expectedNodeExtra(l, run),
      SSL_CERT_FILE: run.outputs['bundle-path'],
      CURL_CA_BUNDLE: run.outputs['bundle-path'],
      GIT_SSL_CAINFO: run.outputs['bundle-path'],
      WGETRC: expect.any(String),
      JAVA_TOOL_OPTIONS: expect.stringContaining('-Djavax.net.ssl.trustStore='),
    });
    // verification stays on: the fix is the CA, never a switch
    expect(Object.keys(run.env)).not.toContain('NODE_TLS_REJECT_UNAUTHORIZED');
    expect(Object.keys(run.env)).not.toContain('SSL_CERT_DIR');

    const results = await clientsVia(l, proxy, { ...l.jobEnv(), ...run.env });
    expectAll(results, true);
    expectThroughProxy(proxy, results);
  }, 240000);

  test('the post step removes everything it wrote, and a second post is a clean no-op', async () => {
    const l = lab();
    expect(listTree(run.runnerTemp).length).toBeGreaterThan(0);
    const post = await runAction('post', {
      state: run.state,
      env: l.jobEnv(),
      runnerTemp: run.runnerTemp,
      workRoot: l.dir,
    });
    expect({ exitCode: post.exitCode, stdout: post.stdout }).toEqual({
      exitCode: 0,
      stdout: expect.not.stringMatching(/::(warning|error)::/),
    });
    expect(listTree(run.runnerTemp)).toEqual([]);
    const again = await runAction('post', {
      state: run.state,
      env: l.jobEnv(),
      runnerTemp: run.runnerTemp,
      workRoot: l.dir,
    });
    expect({ exitCode: again.exitCode, stdout: again.stdout }).toEqual({
      exitCode: 0,
      stdout: expect.not.stringMatching(/::(warning|error)::/),
    });
    expect(listTree(run.runnerTemp)).toEqual([]);
    expect(again.env).toEqual({});
  }, 60000);
});

/**
 * The variable each client really reads, as the registry claims: with everything the step exported except that one
 * variable, the client fails again behind squid (the machine's own value, if any, points at the system bundle).
 */
const READS: Record<ClientName, readonly string[]> = {
  node: ['NODE_EXTRA_CA_CERTS'],
  python: ['SSL_CERT_FILE'],
  curl: ['CURL_CA_BUNDLE'],
  git: ['GIT_SSL_CAINFO'],
  wget: ['WGETRC'],
  java: ['JAVA_TOOL_OPTIONS'],
  npm: ['NODE_EXTRA_CA_CERTS', 'npm_config_cafile'],
  perl: ['PERL_LWP_SSL_CA_FILE'],
};

test('each client depends on the variable the registry names for it', async () => {
  const l = lab();
  const run = await main(l, { 'ca-file': l.pki.paths.orgRoot });
  expect(run.exitCode).toBe(0);
  const results = await Promise.all(
    CLIENT_NAMES.map(async (client) => {
      const env = { ...l.jobEnv(), ...run.env };
      for (const name of READS[client]) {
        const machine = l.jobEnv()[name];
        if (machine === undefined) delete env[name];
        else env[name] = machine;
      }
      return (await clientsVia(l, l.squid!, env, [client]))[client];
    }),
  );
  for (const r of results)
    expect({ client: r.client, output: r.output }).toEqual({
      client: r.client,
      output: expect.stringMatching(FAILURE.squid[r.client as ClientName]),
    });
  await runAction('post', { state: run.state, env: l.jobEnv(), runnerTemp: run.runnerTemp, workRoot: l.dir });
}, 120000);

describe('npm and a global npmrc with cafile', () => {
  test('npm_config_cafile is what makes npm pass, and the summary says it overrode the npmrc', async () => {
    const l = lab();
    const proxy = l.squid!;
    // A global npmrc like this machine's /usr/etc/npmrc: npm then passes its own `ca` and ignores NODE_EXTRA_CA_CERTS.
    const npmrc = join(l.scratch('npmrc'), 'npmrc');
    writeFileSync(npmrc, 'cafile=/etc/ssl/certs/ca-certificates.crt\n');
    const machine = { NPM_CONFIG_GLOBALCONFIG: npmrc };
    const run = await main(l, { ca: l.pki.orgRoot.certPem }, machine);
    expect(run.exitCode).toBe(0);
    // Node's roots and the org CA, the set npm reads without a cafile (not the OS store's bundle)
    expect(run.env.npm_config_cafile).toBe(join(dirname(run.outputs['bundle-path']!), 'node-ca-bundle.pem'));
    expect(run.summary).toContain(npmrc);
    expect(run.summary).toMatch(/npm_config_cafile/);
    expect(run.summary).toMatch(/ignore NODE_EXTRA_CA_CERTS/);

    const { npm_config_cafile: _override, ...withoutOverride } = run.env;
    const [withIt, without] = await Promise.all([
      clientsVia(l, proxy, { ...l.jobEnv(machine), ...run.env }, ['npm']),
      clientsVia(l, proxy, { ...l.jobEnv(machine), ...withoutOverride }, ['npm']),
    ]);
    expect(describeResult(withIt.npm)).toMatch(/E404/);
    expect(withIt.npm.ok).toBe(true);
    // NODE_EXTRA_CA_CERTS alone loses to the npmrc's cafile
    expect(without.npm.output).toMatch(FAILURE.squid.npm);
    expect(without.npm.ok).toBe(false);
    await runAction('post', { state: run.state, env: l.jobEnv(), runnerTemp: run.runnerTemp, workRoot: l.dir });
    expect(listTree(run.runnerTemp)).toEqual([]);
  }, 120000);

  test("this machine's own global npmrc, when it sets cafile, is named in the summary", async () => {
    const l = lab();
    const run = await main(l, { 'ca-file': l.pki.paths.orgCa });
    const machineNpmrc = ['/usr/etc/npmrc', '/usr/local/etc/npmrc'].find(
      (p) => existsSync(p) && /^\s*cafile\s*=/m.test(readFileSync(p, 'utf8')),
    );
    if (machineNpmrc) {
      expect(run.summary).toContain(machineNpmrc);
      // Node's roots and the org CA, the set npm reads without a cafile (not the OS store's bundle)
      expect(run.env.npm_config_cafile).toBe(join(dirname(run.outputs['bundle-path']!), 'node-ca-bundle.pem'));
    }
    const results = await clientsVia(l, l.mitmproxy!, { ...l.jobEnv(), ...run.env }, ['npm']);
    expect(describeResult(results.npm)).toMatch(/E404/);
    await runAction('post', { state: run.state, env: l.jobEnv(), runnerTemp: run.runnerTemp, workRoot: l.dir });
  }, 60000);
});

describe('where the step must not inject', () => {
  test.each([['self-hosted'], ['auto']])('a GitHub-hosted runner is a no-op that says why (when: %s)', async (when) => {
    const l = lab();
    const run = await main(l, { 'ca-file': l.pki.paths.orgCa, when }, {}, 'github-hosted');
    expect(run.exitCode).toBe(0);
    expect(run.env).toEqual({});
    expect(run.outputs).toMatchObject({ injected: 'false', reason: 'github-hosted-runner' });
    expect(run.outputs['ca-path'] ?? '').toBe('');
    expect(run.stdout).toMatch(/GitHub-hosted runner/);
    expect(run.stdout).not.toMatch(/Probing/);
    expect(run.summary).toMatch(/Not injected/);
    // what it may write (the no-op build-context helper) holds no CA
    const caBody = l.pki.orgCa.certPem.split('\n')[1]!;
    for (const file of listTree(run.runnerTemp)) {
      const path = join(run.runnerTemp, file);
      if (statSync(path).isFile())
        expect({ file, hasCa: readFileSync(path, 'utf8').includes(caBody) }).toEqual({ file, hasCa: false });
    }
    const post = await runAction('post', {
      state: run.state,
      env: l.jobEnv(),
      runnerTemp: run.runnerTemp,
      workRoot: l.dir,
      runnerEnvironment: 'github-hosted',
    });
    expect(post.exitCode).toBe(0);
    expect(listTree(run.runnerTemp)).toEqual([]);
  });

  test.each([
    ['a private key alone', (l: Lab) => l.pki.orgCa.keyPem],
    ['a certificate with its private key', (l: Lab) => l.pki.orgCa.certPem + l.pki.orgCa.keyPem],
  ])('%s as `ca` fails with one line, and no part of the key appears anywhere', async (_label, input) => {
    const l = lab();
    const run = await main(l, { ca: input(l) });
    expect(run.exitCode).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    // @actions/core escapes a newline in the message as %0A: one line means none
    expect(errors[0]).not.toMatch(/%0A|%0D/);
    expect(errors[0]).toMatch(/private key/i);
    const channels = { stdout: run.stdout, stderr: run.stderr, ...run.files };
    const keyBody = l.pki.orgCa.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    // every 16-character piece of the key body, so a partial or re-wrapped echo is caught too
    const pieces = keyBody.join('').match(/.{16}/g)!;
    for (const [name, text] of Object.entries(channels)) {
      const flat = text.replace(/\s/g, '');
      const leaked = pieces.filter((p) => flat.includes(p));
      expect({ channel: name, leaked }).toEqual({ channel: name, leaked: [] });
      expect({ channel: name, header: /PRIVATE KEY-----/.test(text) }).toEqual({ channel: name, header: false });
    }
    expect(run.env).toEqual({});
    expect(listTree(run.runnerTemp)).toEqual([]);
  });

  test('a job with NODE_TLS_REJECT_UNAUTHORIZED=0 fails, unless on-verification-off is warn', async () => {
    const l = lab();
    const off = { NODE_TLS_REJECT_UNAUTHORIZED: '0' };
    const failed = await main(l, { 'ca-file': l.pki.paths.orgCa }, off);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/^::error::.*NODE_TLS_REJECT_UNAUTHORIZED=0.*on-verification-off/m);
    expect(failed.env).toEqual({});
    // whatever the failed step created, its post step removes
    await runAction('post', { state: failed.state, env: l.jobEnv(), runnerTemp: failed.runnerTemp, workRoot: l.dir });
    expect(listTree(failed.runnerTemp)).toEqual([]);

    const warned = await main(l, { 'ca-file': l.pki.paths.orgCa, 'on-verification-off': 'warn' }, off);
    expect(warned.exitCode).toBe(0);
    expect(warned.stdout).toMatch(/^::warning::.*NODE_TLS_REJECT_UNAUTHORIZED=0/m);
    expect(warned.outputs.injected).toBe('true');
    expect(warned.env.NODE_EXTRA_CA_CERTS).toBe(expectedNodeExtra(l, warned));
    await runAction('post', { state: warned.state, env: l.jobEnv(), runnerTemp: warned.runnerTemp, workRoot: l.dir });
    expect(listTree(warned.runnerTemp)).toEqual([]);
  });
});
