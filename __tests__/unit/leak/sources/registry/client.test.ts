/**
 * The distribution client against a real local HTTPS server (127.0.0.1, a test PKI): bearer-token challenges,
 * retries with backoff on 429/5xx, redirects without the registry's Authorization, and refusals that stay one line.
 */
import { createServer } from 'node:https';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { mintLeaf, mintRoot } from '../../../../support/pki.js';
import { useRecordingHttpsServer } from '../../../../support/https-server.js';
import {
  parseChallenge,
  RegistryClient,
  RegistryError,
  readText,
} from '../../../../../src/leak/sources/registry/client.js';
import { parseRegistryReference, ReferenceError } from '../../../../../src/leak/sources/registry/reference.js';

const root = mintRoot({ cn: 'Client Test Root' });
const leaf = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });

const srv = useRecordingHttpsServer(leaf);

const client = (extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) =>
  new RegistryClient({
    host: `127.0.0.1:${srv.port}`,
    repository: 'org/app',
    extraCa: [root.certPem],
    env: {},
    backoffMs: 10,
    timeoutMs: 5000,
    ...extra,
  });

test('a bearer challenge is answered with a token from the realm, with the repository pull scope', async () => {
  srv.handler = (req, res, p) => {
    if (req.url?.startsWith('/token')) {
      const u = new URL(req.url, 'https://x');
      expect(u.searchParams.get('scope')).toBe('repository:org/app:pull');
      expect(u.searchParams.get('service')).toBe('lab');
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from('ci:s3cret').toString('base64')}`);
      res.end(JSON.stringify({ token: 'tok-1' }));
    } else if (req.headers.authorization !== 'Bearer tok-1') {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="https://127.0.0.1:${p}/token",service="lab",scope="repository:org/app:pull"`,
      });
      res.end();
    } else res.end('{"ok":true}');
  };
  const res = await client({ credentials: { username: 'ci', password: 's3cret' } }).get('/v2/org/app/manifests/1');
  expect(res.status).toBe(200);
  expect(await readText(res.body)).toBe('{"ok":true}');
});

test('429 and 503 are retried with backoff, honouring Retry-After', async () => {
  let n = 0;
  srv.handler = (_req, res) => {
    n++;
    if (n === 1) res.writeHead(429, { 'retry-after': '0' }).end();
    else if (n === 2) res.writeHead(503).end();
    else res.end('done');
  };
  const res = await client().get('/v2/org/app/blobs/sha256:x');
  expect(res.status).toBe(200);
  expect(n).toBe(3);
});

test('after the last retry the 5xx answer is returned for the caller to fail on', async () => {
  srv.handler = (_req, res) => res.writeHead(502).end();
  const res = await client({ retries: 2 }).get('/v2/');
  expect(res.status).toBe(502);
  expect(srv.seen).toHaveLength(3);
});

test('a redirect to another host is followed without the registry Authorization', async () => {
  srv.handler = (req, res, p) => {
    if (req.url === '/v2/org/app/blobs/sha256:a') {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="lab"' }).end();
        return;
      }
      // localhost is another host name for the same server: the client must drop Authorization there.
      res.writeHead(307, { location: `https://localhost:${p}/cdn/a` }).end();
    } else res.end('blob');
  };
  const c = new RegistryClient({
    host: `127.0.0.1:${srv.port}`,
    repository: 'org/app',
    extraCa: [root.certPem],
    env: {},
    backoffMs: 10,
    credentials: { username: 'u', password: 'p' },
  });
  const res = await c.get('/v2/org/app/blobs/sha256:a');
  expect(res.status).toBe(200);
  expect(srv.seen.at(-1)).toEqual({ url: '/cdn/a' });
});

test('a redirect to http:// is refused in one line', async () => {
  srv.handler = (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/x' }).end();
  await expect(client().get('/v2/')).rejects.toThrow(
    /^GET https:\/\/127\.0\.0\.1:\d+\/v2\/ failed: 127\.0\.0\.1:\d+ redirected to a non-https URL \(http:\/\/127\.0\.0\.1:1\)$/,
  );
});

test('an untrusted certificate fails (verification is never switched off), after retries, in one line', async () => {
  srv.handler = (_req, res) => res.end('x');
  const other = mintRoot({ cn: 'Someone Else' });
  const error = await client({ extraCa: [other.certPem], retries: 1 })
    .get('/v2/')
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as Error).message).toMatch(/failed: .*(certificate|verify)/i);
  expect((error as Error).message).not.toContain('\n');
});

test('basic challenge without credentials says what to pass', async () => {
  srv.handler = (_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="lab"' }).end();
  await expect(client().get('/v2/')).rejects.toThrow(
    /asks for a user name and password \(401\): pass --username\/--password-stdin or log in with docker login/,
  );
});

test('through an HTTPS_PROXY CONNECT tunnel, a registry named by IP is verified against that IP, and its answer read whole', async () => {
  // A registry whose certificate names only 127.0.0.1 (the shared server's also names localhost, which a check
  // against Node's default host would pass).
  const ipOnly = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
  const big = Buffer.alloc(600 * 1024, 7);
  const registry = createServer({ cert: ipOnly.certPem, key: ipOnly.keyPem }, (_req, res) => res.end(big));
  const tunnels: string[] = [];
  const proxy = http.createServer();
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [h, p] = (req.url ?? '').split(':');
    const up = net.connect(Number(p), h, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket).pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  try {
    const registryPort = (registry.address() as AddressInfo).port;
    const env = { HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
    const c = new RegistryClient({
      host: `127.0.0.1:${registryPort}`,
      repository: 'org/app',
      extraCa: [root.certPem],
      env,
      backoffMs: 10,
      retries: 0,
    });
    const res = await c.get('/v2/org/app/blobs/sha256:big');
    expect(res.status).toBe(200);
    expect(Buffer.from(await readText(res.body, 1 << 20), 'utf8').equals(big)).toBe(true);
    expect(tunnels).toEqual([`127.0.0.1:${registryPort}`]);
  } finally {
    proxy.close();
    registry.close();
  }
});

test('a proxy that never answers CONNECT times out in one line, and its connection is closed, not left open', async () => {
  let closed!: Promise<void>;
  const silent = net.createServer((socket) => {
    closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    // Reading, so that the client's close is seen.
    socket.resume();
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const env = { HTTPS_PROXY: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` };
    await expect(client({ env, timeoutMs: 300, retries: 0 }).get('/v2/')).rejects.toThrow(
      /^GET https:\/\/127\.0\.0\.1:\d+\/v2\/ failed: no answer from 127\.0\.0\.1:\d+ within 300 ms$/,
    );
    const shut = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    expect(shut).toBe(true);
  } finally {
    silent.close();
  }
});

test('challenge parsing', () => {
  expect(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull"',
    ),
  ).toEqual({
    scheme: 'bearer',
    params: {
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/node:pull',
    },
  });
});

describe('references', () => {
  test.each([
    ['registry:ghcr.io/org/app:1.2', { registry: 'ghcr.io', repository: 'org/app', tag: '1.2' }],
    ['docker://docker.io/node:24', { registry: 'docker.io', repository: 'library/node', tag: '24' }],
    [
      `registry:vm:5000/a/b@sha256:${'a'.repeat(64)}`,
      { registry: 'vm:5000', repository: 'a/b', digest: `sha256:${'a'.repeat(64)}` },
    ],
  ])('%s', (input, expected) => expect(parseRegistryReference(input)).toEqual(expected));

  test.each([
    [
      'registry:library/node:24',
      /'library' is not a registry host; name it in full \(e\.g\., registry:docker\.io\/library\/node\)/,
    ],
    ['registry:ghcr.io/org/app', /no tag or digest/],
    ['registry:ghcr.io/Org/App:1', /Invalid registry reference 'registry:ghcr.io\/Org\/App:1'/],
  ])('rejects %s', (input, message) => {
    expect(() => parseRegistryReference(input)).toThrow(ReferenceError);
    expect(() => parseRegistryReference(input)).toThrow(message);
  });
});
