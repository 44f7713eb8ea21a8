import { certificateFromDer } from '../../../src/ca/certificate.js';
import { classifyError, probeAll } from '../../../src/detect/probe.js';
import { mintIntermediate, mintLeaf, mintRoot } from '../../support/pki.js';
import { blackHole, closedPort, connectProxy, tlsServer, type Running } from './loopback.js';

const root = mintRoot({ cn: 'Probe Test Root' });
const intermediate = mintIntermediate(root, { cn: 'Probe Test Issuing CA' });
const leaf = mintLeaf(intermediate, { cn: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
const fp = (pem: { der: Buffer }): string => certificateFromDer(pem.der).fingerprint;

let server: Awaited<ReturnType<typeof tlsServer>>;
let alpnServer: Running;
let proxy: Awaited<ReturnType<typeof connectProxy>>;
let authProxy: Awaited<ReturnType<typeof connectProxy>>;
let denyProxy: Awaited<ReturnType<typeof connectProxy>>;
let hole: Awaited<ReturnType<typeof blackHole>>;
let dead: number;

beforeAll(async () => {
  server = await tlsServer({ certChainPem: leaf.certPem + intermediate.certPem, keyPem: leaf.keyPem });
  alpnServer = await tlsServer({ certChainPem: leaf.certPem, keyPem: leaf.keyPem, alpn: ['h2'] });
  proxy = await connectProxy();
  authProxy = await connectProxy({ auth: { user: 'ci@corp', password: 'p:ss' } });
  denyProxy = await connectProxy({ deny: () => true });
  hole = await blackHole();
  dead = await closedPort();
});

afterAll(async () => {
  for (const s of [server, alpnServer, proxy, authProxy, denyProxy, hole]) await s?.close();
});

const url = (port: number, host = '127.0.0.1'): string => `https://${host}:${port}/`;

describe('probeAll', () => {
  test('direct: reads the chain exactly as sent (leaf + intermediate, no root added), SNI for names only', async () => {
    const [byIp, byName] = await probeAll([url(server.port), url(server.port, 'localhost')], {
      env: {},
      timeoutMs: 3000,
    });
    for (const r of [byIp!, byName!]) {
      expect(r.failure).toBeUndefined();
      expect(r.route?.kind).toBe('direct');
      expect(r.chain.map((c) => c.fingerprint)).toEqual([fp(leaf), fp(intermediate)]);
    }
    expect(server.servernames).toEqual(['localhost']);
  });

  test('through HTTPS_PROXY: a CONNECT tunnel to host:port, the far chain read through it', async () => {
    const before = proxy.requests.length;
    const [r] = await probeAll([url(server.port)], {
      env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
      timeoutMs: 3000,
    });
    expect(r!.failure).toBeUndefined();
    expect(r!.route).toMatchObject({ kind: 'proxy', display: `http://127.0.0.1:${proxy.port}` });
    expect(r!.chain[0]!.fingerprint).toBe(fp(leaf));
    expect(proxy.requests.slice(before)).toEqual([{ authority: `127.0.0.1:${server.port}` }]);
  });

  test('proxy credentials come from the proxy URL, percent-decoded, as Proxy-Authorization: Basic', async () => {
    const env = { https_proxy: `http://ci%40corp:p%3Ass@127.0.0.1:${authProxy.port}` };
    const [r] = await probeAll([url(server.port)], { env, timeoutMs: 3000 });
    expect(r!.failure).toBeUndefined();
    expect(authProxy.requests.at(-1)!.authorization).toBe(`Basic ${Buffer.from('ci@corp:p:ss').toString('base64')}`);
  });

  test.each([
    [
      'no credentials',
      (p: number) => `http://127.0.0.1:${p}`,
      /answered CONNECT with 'HTTP\/1.1 407 Proxy Authentication Required': it wants credentials and HTTPS_PROXY has none/,
    ],
    [
      'wrong credentials',
      (p: number) => `http://ci:wrong@127.0.0.1:${p}`,
      /'HTTP\/1.1 407 Proxy Authentication Required': it refused the credentials in HTTPS_PROXY/,
    ],
  ])(
    'proxy 407 with %s → proxy-auth, the status line quoted, no password printed',
    async (_name, proxyUrl, message) => {
      const [r] = await probeAll([url(server.port)], {
        env: { HTTPS_PROXY: proxyUrl(authProxy.port) },
        timeoutMs: 3000,
      });
      expect(r!.failure?.kind).toBe('proxy-auth');
      expect(r!.failure?.message).toMatch(message);
      expect(r!.failure?.message).not.toContain('wrong');
    },
  );

  test('proxy 403 → proxy-denied', async () => {
    const [r] = await probeAll([url(server.port)], {
      env: { HTTPS_PROXY: `http://127.0.0.1:${denyProxy.port}` },
      timeoutMs: 3000,
    });
    expect(r!.failure).toEqual({
      kind: 'proxy-denied',
      message: `proxy http://127.0.0.1:${denyProxy.port} answered CONNECT with 'HTTP/1.1 403 Forbidden': the proxy refuses this destination`,
    });
  });

  test('refused: a closed server port, and a closed proxy port (named as the proxy)', async () => {
    const [direct, viaProxy] = await probeAll([url(dead), url(server.port)], { env: {}, timeoutMs: 3000 });
    expect(direct!.failure).toEqual({
      kind: 'refused',
      message: `127.0.0.1:${dead} refused the connection (ECONNREFUSED)`,
    });
    expect(viaProxy!.failure).toBeUndefined();
    const [r] = await probeAll([url(server.port)], {
      env: { HTTPS_PROXY: `http://127.0.0.1:${dead}` },
      timeoutMs: 3000,
    });
    expect(r!.failure).toEqual({
      kind: 'refused',
      message: `proxy http://127.0.0.1:${dead} refused the connection (ECONNREFUSED)`,
    });
  });

  test('NO_PROXY sends a matching host directly even when the proxy is dead', async () => {
    const [r] = await probeAll([url(server.port)], {
      env: { HTTPS_PROXY: `http://127.0.0.1:${dead}`, NO_PROXY: '127.0.0.0/8' },
      timeoutMs: 3000,
    });
    expect(r!.failure).toBeUndefined();
    expect(r!.route).toMatchObject({ kind: 'direct', why: 'NO_PROXY matches 127.0.0.1' });
  });

  test('a TLS alert from the server → tls, with OpenSSL reason', async () => {
    const [r] = await probeAll([url(alpnServer.port)], { env: {}, timeoutMs: 3000 });
    expect(r!.failure?.kind).toBe('tls');
    expect(r!.failure?.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: .*alert/i);
  });

  test('a dead URL costs the deadline and no more, and its socket is closed', async () => {
    const t0 = performance.now();
    const [r, ok] = await probeAll([url(hole.port), url(server.port)], { env: {}, timeoutMs: 400 });
    const took = performance.now() - t0;
    expect(r!.failure).toEqual({
      kind: 'timeout',
      message: `no TLS handshake with 127.0.0.1:${hole.port} within 400 ms`,
    });
    expect(ok!.failure).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(400 + 800);
    expect(hole.accepted()).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hole.open()).toBe(0);
  });

  test('stopWhen ends the wait as soon as the answers decide; the rest are cancelled', async () => {
    const t0 = performance.now();
    const results = await probeAll([url(hole.port), url(server.port)], {
      env: {},
      timeoutMs: 5000,
      stopWhen: (partial) => partial.some((r) => r && r.chain.length > 0),
    });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(results[0]!.failure?.kind).toBe('cancelled');
    expect(results[1]!.chain.length).toBe(2);
  });

  test('a bad URL or proxy variable is a config failure, not a crash', async () => {
    const [bad, badProxy] = await probeAll(['http://plain.test', url(server.port)], {
      env: { HTTPS_PROXY: 'socks5://127.0.0.1:1080' },
      timeoutMs: 1000,
    });
    expect(bad!.failure).toMatchObject({ kind: 'config', message: expect.stringMatching(/expected https:\/\//) });
    expect(badProxy!.failure).toMatchObject({ kind: 'config', message: expect.stringMatching(/socks5/) });
  });

  test('no URL: resolves at once', async () => {
    expect(await probeAll([], { env: {}, timeoutMs: 5000 })).toEqual([]);
  });
});

describe('classifyError', () => {
  const err = (code: string, message = code): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
  test.each([
    [
      err('ENOTFOUND', 'getaddrinfo ENOTFOUND nowhere.test'),
      'dns',
      'DNS lookup of nowhere.test:443 failed (ENOTFOUND)',
    ],
    [err('EAI_AGAIN'), 'dns', 'DNS lookup of nowhere.test:443 failed (EAI_AGAIN)'],
    [err('ECONNREFUSED'), 'refused', 'nowhere.test:443 refused the connection (ECONNREFUSED)'],
    [
      err('ECONNRESET', 'socket hang up'),
      'reset',
      'nowhere.test:443 closed the connection during the TLS handshake (ECONNRESET)',
    ],
    [err('EHOSTUNREACH'), 'timeout', 'nowhere.test:443 unreachable (EHOSTUNREACH)'],
    [
      err('ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', 'tlsv1 alert access denied'),
      'tls',
      'TLS handshake with nowhere.test:443 failed: tlsv1 alert access denied (ERR_SSL_TLSV1_ALERT_ACCESS_DENIED)',
    ],
  ])('error row %# → %s', (error, kind, message) => {
    expect(classifyError(error, 'nowhere.test:443')).toMatchObject({ kind, message });
  });
});
