/**
 * Self-test of the inspection lab that the end-to-end suites share: the proxies really intercept, present the chains
 * they are meant to, and every client really goes through them.
 */
import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { CLIENT_NAMES, runClients, useInspectionLab, waitFor, type Proxy } from '../../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true, squid: true, squidAuth: true, foreign: true });

/** The chain a proxy presents for the upstream, read through a CONNECT tunnel without verifying it. */
async function chainVia(proxy: Proxy, auth?: string): Promise<string[]> {
  const { port } = lab().upstream;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: proxy.port,
      method: 'CONNECT',
      path: `127.0.0.1:${port}`,
      headers: auth ? { 'proxy-authorization': `Basic ${Buffer.from(auth).toString('base64')}` } : {},
    });
    req.once('connect', (res, s) =>
      res.statusCode === 200 ? resolve(s) : reject(new Error(`CONNECT answered ${res.statusCode}`)),
    );
    req.once('error', reject);
    req.end();
  });
  const tls = tlsConnect({ socket, servername: 'localhost', rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => tls.once('secureConnect', resolve).once('error', reject));
  const subjects: string[] = [];
  const seen = new Set<string>();
  for (
    let c: PeerCertificate | undefined = tls.getPeerCertificate(true);
    c && !seen.has(c.fingerprint256);
    c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate
  ) {
    seen.add(c.fingerprint256);
    const x = new X509Certificate(c.raw);
    subjects.push(`${x.subject.replace(/\n/g, ', ')} <- ${x.issuer.replace(/\n/g, ', ')}`);
  }
  tls.destroy();
  return subjects;
}

test('every proxy re-signs the upstream with its own CA', async () => {
  // mitmproxy sends the leaf alone; squid sends what follows the signing certificate in tls-cert.
  expect(await chainVia(lab().mitmproxy!)).toEqual([
    expect.stringMatching(/^CN=127\.0\.0\.1.* <- CN=Example Org Inspection CA/),
  ]);
  expect(await chainVia(lab().squid!)).toEqual([
    expect.stringMatching(/^CN=127\.0\.0\.1.* <- CN=Example Org Issuing CA 1/),
    expect.stringMatching(/^CN=Example Org Issuing CA 1.* <- CN=Example Org Root CA/),
    expect.stringMatching(/^CN=Example Org Root CA.* <- CN=Example Org Root CA/),
  ]);
  expect(await chainVia(lab().foreign!)).toEqual([expect.stringMatching(/ <- CN=Foreign Appliance CA/)]);
  await expect(chainVia(lab().squidAuth!)).rejects.toThrow('CONNECT answered 407');
  expect((await chainVia(lab().squidAuth!, 'lab:lab-secret'))[1]).toMatch(/^CN=Example Org Issuing CA 1/);
});

test.each(['mitmproxy', 'squid'] as const)(
  'every client goes through %s and fails on the org CA it does not know',
  async (name) => {
    const l = lab();
    const proxy = l[name]!;
    const before = proxy.tunnels();
    const results = await runClients(CLIENT_NAMES, {
      env: l.jobEnv(),
      proxy: proxy.url,
      upstream: l.upstream.url,
      workDir: l.scratch(name),
    });
    for (const r of Object.values(results))
      expect({ client: r.client, ok: r.ok }).toEqual({ client: r.client, ok: false });
    // every client opened its own tunnel: none bypassed the proxy for 127.0.0.1 (Java's default would)
    await waitFor(() => proxy.tunnels() - before >= CLIENT_NAMES.length);
    expect(proxy.tunnels() - before).toBeGreaterThanOrEqual(CLIENT_NAMES.length);
    const issuer =
      name === 'squid'
        ? /self[- ]signed certificate in certificate chain|SELF_SIGNED_CERT_IN_CHAIN/
        : /unable to (get local issuer|verify the first)/i;
    expect(results.curl.output).toMatch(issuer);
  },
  120000,
);

test('a client given the org CA succeeds, and the proxy logs its request', async () => {
  const l = lab();
  const env = l.jobEnv({ CURL_CA_BUNDLE: l.pki.paths.orgCa });
  const [viaMitm] = await Promise.all([
    runClients(['curl'], { env, proxy: l.mitmproxy!.url, upstream: l.upstream.url, workDir: l.scratch('ok') }),
  ]);
  expect(viaMitm.curl).toMatchObject({ ok: true, exitCode: 0 });
  expect(l.mitmproxy!.saw(viaMitm.curl.marker)).toBe(true);
  const env2 = l.jobEnv({ CURL_CA_BUNDLE: l.pki.paths.orgRoot });
  const viaSquidAuth = await runClients(['curl', 'java'], {
    env: env2,
    proxy: l.squidAuth!.authUrl!,
    upstream: l.upstream.url,
    workDir: l.scratch('ok'),
  });
  expect(viaSquidAuth.curl).toMatchObject({ ok: true, exitCode: 0 });
  expect(l.squidAuth!.saw(viaSquidAuth.curl.marker)).toBe(true);
  // Java authenticated its tunnel too: it got as far as the certificate (its truststore lacks the org root)
  expect(viaSquidAuth.java.output).toContain('PKIX path building failed');
  // without credentials the authenticating squid answers 407
  const denied = await runClients(['curl'], {
    env: env2,
    proxy: l.squidAuth!.url,
    upstream: l.upstream.url,
    workDir: l.scratch('ok'),
  });
  expect(denied.curl.output).toMatch(/407/);
}, 60000);
