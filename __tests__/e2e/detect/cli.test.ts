/**
 * `org-ca detect` and `org-ca doctor` as engineers run them (the CLI bundle of the current sources, Node 24, separate
 * processes), against the real inspection proxies of the lab.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { certificateFromDer } from '../../../src/ca/certificate.js';
import { cliEntry } from '../../support/cli.js';
import { useInspectionLab, type Lab } from '../../support/inspection/index.js';

let BIN: string;
beforeAll(async () => {
  BIN = await cliEntry();
}, 300_000);
const lab = useInspectionLab({ mitmproxy: true, squid: true });
const fp = (issued: { der: Buffer }): string => certificateFromDer(issued.der).fingerprint;

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** pyenv shims need the real HOME, which the job environment replaces: put the real interpreter first. */
const pythonDir = dirname(execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim());

function cli(l: Lab, args: string[], extra: Record<string, string | undefined> = {}, proxy?: string): Promise<CliRun> {
  const env = l.jobEnv({
    PATH: `${pythonDir}:${process.env.PATH}`,
    ...(proxy ? { HTTPS_PROXY: proxy, https_proxy: proxy } : {}),
    ...extra,
  });
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

describe('org-ca detect', () => {
  test('squid ssl-bump with the org root: org-ca, the full chain as sent, anchor named; exit 0', async () => {
    const l = lab();
    const r = await cli(l, ['detect', l.upstream.url, '--ca', l.pki.paths.orgRoot, '--json'], {}, l.squid!.url);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [probe] = JSON.parse(r.stdout);
    expect(probe).toMatchObject({
      url: l.upstream.url,
      verdict: 'org-ca',
      route: `via proxy ${l.squid!.url} (https_proxy)`,
      issuer: 'CN=Example Org Issuing CA 1, O=Example Org',
    });
    expect(probe.chain.map((c: { subject: string }) => c.subject)).toEqual([
      'CN=127.0.0.1',
      'CN=Example Org Issuing CA 1, O=Example Org',
      'CN=Example Org Root CA, O=Example Org',
    ]);
    expect(probe.anchor.sha256).toBe(fp(l.pki.orgRoot));
    expect(probe.chain[0]).toEqual({
      subject: 'CN=127.0.0.1',
      issuer: 'CN=Example Org Issuing CA 1, O=Example Org',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      notBefore: expect.any(String),
      notAfter: expect.any(String),
    });
  });

  test('mitmproxy without the CA: unknown, the issuer printed with a fingerprint; exit 1', async () => {
    const l = lab();
    const r = await cli(l, ['detect', l.upstream.url], {}, l.mitmproxy!.url);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${l.upstream.url}  UNKNOWN  via proxy ${l.mitmproxy!.url}`);
    expect(r.stdout).toMatch(
      /issued by 'CN=Example Org Inspection CA, O=Example Org', not sent; the chain as sent tops out at 'CN=127\.0\.0\.1' \(SHA-256 [0-9A-F:]{95}\)/,
    );
    expect(r.stdout).toMatch(
      /\[0\] CN=127\.0\.0\.1\n\s+issuer\s+CN=Example Org Inspection CA, O=Example Org\n\s+SHA-256\s+[0-9A-F:]{95}\n\s+valid\s+\d{4}-\d\d-\d\dT.* → \d{4}-/,
    );
  });

  test('direct, with the test root declared public: direct, exit 0; the chain is only what the server sent', async () => {
    const l = lab();
    // NODE_EXTRA_CA_CERTS puts the root in node's store; the probe must still not add it to the presented chain
    const r = await cli(l, ['detect', l.upstream.url, '--public-roots', l.pki.paths.publicRoot, '--json'], {
      NODE_EXTRA_CA_CERTS: l.pki.paths.publicRoot,
    });
    expect(r.code).toBe(0);
    const [probe] = JSON.parse(r.stdout);
    expect(probe.verdict).toBe('direct');
    expect(probe.chain).toHaveLength(1);
    expect(probe.anchor.sha256).toBe(fp(l.pki.publicRoot));
  });

  describe('a server that accepts and never answers', () => {
    let hole: Server;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      hole = createServer((s) => {
        sockets.add(s);
        s.resume();
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hole.close(resolve));
    });

    test('costs the deadline, not more: the process exits right after it, exit 1', async () => {
      const l = lab();
      const port = (hole.address() as { port: number }).port;
      const r = await cli(l, [
        'detect',
        `https://127.0.0.1:${port}/`,
        l.upstream.url,
        '--public-roots',
        l.pki.paths.publicRoot,
        '--timeout',
        '1500ms',
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`timeout: no TLS handshake with 127.0.0.1:${port} within 1500 ms`);
      expect(r.stdout).toContain(`${l.upstream.url}  DIRECT`);
      expect(r.ms).toBeGreaterThan(1500);
      // process start + the deadline + a margin: nothing keeps it alive after the deadline
      expect(r.ms).toBeLessThan(1500 + 1500);
    });
  });

  test.each([
    [['detect', 'http://plain.test'], /^org-ca detect: Invalid probe URL 'http:\/\/plain.test': expected https:\/\//],
    [['detect', '--timeout', 'soon'], /^org-ca detect: Invalid --timeout 'soon'/],
    [['detect', '--bogus'], /^org-ca detect: Unknown option '--bogus'/],
  ])('usage error %j → exit 2', async (args, message) => {
    const r = await cli(lab(), args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('org-ca doctor', () => {
  test('behind squid: each client fails with its own error, explained, with the fix from the registry; --ca fixes them all', async () => {
    const l = lab();
    const url = l.upstream.gitUrl;
    const before = await cli(l, ['doctor', url, '--timeout', '60s'], {}, l.squid!.url);
    expect(before.code).toBe(1);
    const out = before.stdout;
    expect(out).toMatch(
      /^probe: .* → unknown: anchors nowhere known; the server sent the unknown root 'CN=Example Org Root CA, O=Example Org'/,
    );
    const expected: ReadonlyArray<readonly [string, RegExp, string, string]> = [
      [
        'node',
        /error: SELF_SIGNED_CERT_IN_CHAIN: self[- ]signed certificate in certificate chain/,
        'SELF_SIGNED_CERT_IN_CHAIN',
        'NODE_EXTRA_CA_CERTS=<the org CA alone, PEM>',
      ],
      [
        'python3',
        /error: .*CERTIFICATE_VERIFY_FAILED\] certificate verify failed: self[- ]signed certificate in certificate chain/,
        'PYTHON_CERTIFICATE_VERIFY_FAILED',
        'SSL_CERT_FILE=<a bundle',
      ],
      [
        'curl',
        /error: curl: \(60\) SSL certificate problem: self[- ]signed certificate in certificate chain \(exit 60\)/,
        'CURL_60',
        'CURL_CA_BUNDLE=<a bundle',
      ],
      [
        'git',
        /error: fatal: unable to access .*server certificate verification failed/,
        'GIT_SERVER_CERTIFICATE_VERIFICATION_FAILED',
        'GIT_SSL_CAINFO=<a bundle',
      ],
      [
        'java',
        /error: javax\.net\.ssl\.SSLHandshakeException: PKIX path building failed/,
        'JAVA_PKIX_PATH_BUILDING_FAILED',
        'JAVA_TOOL_OPTIONS="-Djavax.net.ssl.trustStore=',
      ],
    ];
    for (const [client, error, id, fix] of expected) {
      const block = out.slice(out.indexOf(`FAIL  ${client}  (`));
      const mine = block.slice(0, block.indexOf('\nFAIL', 5) === -1 ? undefined : block.indexOf('\nFAIL', 5));
      expect(`${client}: ${mine}`).toMatch(new RegExp(`^${client}: FAIL  ${client}  \\(`));
      expect(mine).toMatch(error);
      expect(mine).toContain(`means: ${id}: `);
      expect(mine).toContain(`fix:   ${fix}`);
    }

    const after = await cli(l, ['doctor', url, '--ca', l.pki.paths.orgRoot, '--timeout', '60s'], {}, l.squid!.url);
    expect(after.stdout).toMatch(
      /^probe: .* → org-ca: anchors in the provided CA 'CN=Example Org Root CA, O=Example Org'/,
    );
    for (const [client] of expected) expect(after.stdout).toContain(`OK    ${client}  fixed`);
    expect(after.code).toBe(0);
  }, 300_000);
});
