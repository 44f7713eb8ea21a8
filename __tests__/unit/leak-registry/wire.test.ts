/**
 * The hand-read HTTP/1.1 GET (src/leak/sources/registry/wire.ts) against a real local TLS server that writes raw bytes: every
 * body framing a registry or a blob store uses (Content-Length, chunked, the connection's end), split at arbitrary
 * points across TLS records, on a direct connection (TLS `onread` into one buffer) and on a wrapped socket (the
 * proxy-tunnel shape, where Node gives 'data' events). Every break or malformed answer is one line and never a body
 * that looks whole.
 */
import net, { type AddressInfo } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';
import { mintLeaf, mintRoot } from '../../support/pki.js';
import { framingOf, parseHead, PIECE, wireGet, WireError, type OpenSocket, type WireResponse } from '../../../src/leak/sources/registry/wire.js';

const root = mintRoot({ cn: 'Wire Test Root' });
const leaf = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
const trust = tls.createSecureContext({ ca: root.certPem });

type Respond = (socket: TLSSocket, request: string) => void;
let server: tls.Server;
let port = 0;
let respond: Respond = () => undefined;
let connections = 0;

beforeAll(async () => {
  server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => {
    connections++;
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      respond(socket, head.slice(0, end));
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  connections = 0;
  onreadCalls = 0;
});

/** A direct connection: `onread` is honoured (counted, to prove which path the bytes took). */
let onreadCalls = 0;
const direct: OpenSocket = (onread) =>
  new Promise((resolve, reject) => {
    const counted = { buffer: onread.buffer, callback: (n: number, buf: Buffer) => (onreadCalls++, onread.callback(n, buf)) };
    const s = tls.connect({ host: '127.0.0.1', port, secureContext: trust, onread: counted } as tls.ConnectionOptions);
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });

/** A TLS socket over a socket of our own, as through a proxy's CONNECT tunnel: Node ignores `onread` there. */
const wrapped: OpenSocket = () =>
  new Promise((resolve, reject) => {
    const raw = net.connect(port, '127.0.0.1', () => {
      const s = tls.connect({ socket: raw, host: '127.0.0.1', secureContext: trust });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    raw.once('error', reject);
  });

const get = (open: OpenSocket, path = '/v2/x/blobs/sha256:a', headers: Record<string, string> = {}, timeoutMs = 5000): Promise<WireResponse> =>
  wireGet(open, { url: new URL(`https://127.0.0.1:${port}${path}`), headers, timeoutMs, timeoutError: () => new Error(`idle for ${timeoutMs} ms`) });

async function readAll(body: NodeJS.ReadableStream): Promise<{ bytes: Buffer; pieces: number[] }> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return { bytes: Buffer.concat(chunks), pieces: chunks.map((c) => c.length) };
}

/** Writes `data` in slices of the given sizes (cycled), one per event-loop turn, so records split anywhere. */
function dribble(socket: TLSSocket, data: Buffer, sizes: number[], then?: () => void): void {
  let at = 0;
  let i = 0;
  const step = (): void => {
    if (socket.destroyed) return;
    if (at >= data.length) return void (then ? then() : socket.end());
    const n = sizes[i++ % sizes.length]!;
    socket.write(data.subarray(at, at + n));
    at += n;
    setImmediate(step);
  };
  step();
}

function chunkedOf(data: Buffer, sizes: number[], trailer = ''): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const n = Math.min(sizes[i++ % sizes.length]!, data.length - at);
    parts.push(Buffer.from(`${n.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`), data.subarray(at, at + n), Buffer.from('\r\n'));
    at += n;
  }
  parts.push(Buffer.from(`0\r\n${trailer}\r\n`));
  return Buffer.concat(parts);
}

const noise = (n: number): Buffer => {
  const out = Buffer.alloc(n);
  for (let at = 0, i = 0; at < n; at += 32, i++) createHash('sha256').update(String(i)).digest().copy(out, at);
  return out;
};
const payload = noise(700 * 1024 + 13);

describe.each([
  ['direct (onread)', () => direct, true],
  ['wrapped socket (data events)', () => wrapped, false],
])('%s', (_name, open, viaOnread) => {
  test('a Content-Length body arrives whole, in pieces of at most 256 KiB, split anywhere', async () => {
    respond = (s) => dribble(s, Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\nX-A: 1\r\nx-a: 2\r\n\r\n`), payload]), [1, 7, 16384, 3, 65536, 100001]);
    const res = await get(open());
    expect(res.status).toBe(200);
    expect(res.headers['x-a']).toBe('1, 2');
    const { bytes, pieces } = await readAll(res.body);
    expect(bytes.equals(payload)).toBe(true);
    expect(Math.max(...pieces)).toBeLessThanOrEqual(PIECE);
    expect(pieces.slice(0, -1).every((n) => n === PIECE)).toBe(true);
    expect(onreadCalls > 0).toBe(viaOnread);
  });

  test('a chunked body with extensions and a trailer is decoded, whatever the split', async () => {
    respond = (s) => dribble(s, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunkedOf(payload, [1, 4096, 70000, 5], 'X-Trailer: t\r\n')]), [1, 2, 3, 5000, 17]);
    const { bytes } = await readAll((await get(open())).body);
    expect(bytes.equals(payload)).toBe(true);
  });

  test('a body without a length ends with the connection', async () => {
    respond = (s) => dribble(s, Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), payload]), [9000]);
    const { bytes } = await readAll((await get(open())).body);
    expect(bytes.equals(payload)).toBe(true);
  });

  test('an interim 100 answer is skipped; a 204 has no body', async () => {
    respond = (s) => s.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    const res = await get(open());
    expect(res.status).toBe(200);
    expect((await readAll(res.body)).bytes.toString()).toBe('hello');
    respond = (s) => s.write('HTTP/1.1 204 No Content\r\n\r\n');
    const empty = await get(open());
    expect(empty.status).toBe(204);
    expect((await readAll(empty.body)).bytes.length).toBe(0);
  });

  test.each([
    ['Content-Length', () => Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`), payload.subarray(0, 300000)]), new RegExp(`^the connection closed after 300000 of ${payload.length} bytes$`)],
    ['chunked', () => Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), chunkedOf(payload, [50000]).subarray(0, 120000)]), /^the connection closed after \d+ bytes, inside the chunked body$/],
  ])('a %s body cut short is an error, never a short body that looks whole', async (_kind, bytes, message) => {
    respond = (s) => dribble(s, bytes(), [20000], () => s.destroy());
    const res = await get(open());
    await expect(readAll(res.body)).rejects.toThrow(message);
  });
});

test('the request carries the path with its query, the Host with its port, Connection: close and the given headers', async () => {
  let seen = '';
  respond = (s, request) => {
    seen = request;
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  };
  const res = await get(direct, '/cdn/blob?sig=a%2Bb&exp=1', { authorization: 'Bearer t', 'user-agent': 'org-ca-leak-check' });
  await readAll(res.body);
  expect(seen.split('\r\n')).toEqual([`GET /cdn/blob?sig=a%2Bb&exp=1 HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', 'authorization: Bearer t', 'user-agent: org-ca-leak-check']);
});

test('a header value with a line break is refused before any connection is made', async () => {
  const error = await get(direct, '/v2/', { authorization: 'Bearer x\r\nX-Injected: 1' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WireError);
  expect((error as WireError).message).toBe("refusing to send header 'authorization': it contains a line break or is not a field name");
  expect((error as WireError).retryable).toBe(false);
  expect(connections).toBe(0);
});

test.each([
  ['a status line that is not HTTP/1.x', 'SSH-2.0-OpenSSH\r\n\r\n', /^not an HTTP\/1\.1 answer \(status line "SSH-2\.0-OpenSSH"\)$/],
  ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken line\r\n\r\n', /^a malformed header line in the answer \("broken line"\)$/],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', /^the answer has an invalid Content-Length '5, 6'$/],
  ['a transfer coding not asked for', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /^the answer uses transfer coding 'gzip, chunked', which was not asked for$/],
  ['headers over 64 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`, /^the answer's headers are over 64 KiB$/],
  ['a 101 that was not asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', /^the answer switches protocols \(101\), which was not asked for$/],
  ['an endless run of interim answers', 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(5000), /^more than 8 interim \(1xx\) answers$/],
])('%s is a one-line error that is not retried', async (_name, answer, message) => {
  respond = (s) => s.end(answer);
  const error = await get(direct).catch((e: unknown) => e);
  expect((error as Error).message ?? String(error)).toMatch(message);
  expect(error).toBeInstanceOf(WireError);
  expect((error as WireError).retryable).toBe(false);
});

test('an invalid chunk size fails the body in one line', async () => {
  respond = (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
  const res = await get(direct);
  await expect(readAll(res.body)).rejects.toThrow(/^an invalid chunk size in the answer \("zz"\)$/);
});

test('a connection closed before any answer is a retryable error', async () => {
  respond = (s) => s.destroy();
  const error = await get(direct).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(WireError);
  expect((error as WireError).message).toBe('the connection closed before an answer came');
  expect((error as WireError).retryable).toBe(true);
});

test('a silent server times out with the caller\'s error; a reader that pauses longer than the timeout does not', async () => {
  respond = () => undefined;
  await expect(get(direct, '/v2/', {}, 300)).rejects.toThrow('idle for 300 ms');

  respond = (s) => s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`), payload]));
  const res = await get(direct, '/v2/', {}, 300);
  // Nobody reads for 900 ms: the body's buffer fills, the socket is paused, and a paused socket is not idle.
  await new Promise((r) => setTimeout(r, 900));
  expect((await readAll(res.body)).bytes.equals(payload)).toBe(true);
});

test('destroying the body closes the connection', async () => {
  let closed!: Promise<void>;
  respond = (s) => {
    closed = new Promise((r) => s.once('close', () => r()));
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${10 * payload.length}\r\n\r\n`);
    s.write(payload);
  };
  const res = await get(direct);
  res.body.destroy();
  await closed;
});

describe('pure parts', () => {
  test('parseHead lower-cases names, joins repeated fields, keeps the status', () => {
    expect(parseHead('HTTP/1.1 307 Temporary Redirect\r\nLocation: https://cdn/x\r\nVary: a\r\nvary: b')).toEqual({ status: 307, headers: { location: 'https://cdn/x', vary: 'a, b' } });
    // A field named like an Object.prototype member is a field like any other.
    expect(parseHead('HTTP/1.1 200 OK\r\nConstructor: x\r\ntoString: y').headers).toEqual({ constructor: 'x', tostring: 'y' });
  });
  test.each([
    [200, {}, { kind: 'close' }],
    [200, { 'content-length': '12' }, { kind: 'length', remaining: 12 }],
    [200, { 'content-length': '12, 12' }, { kind: 'length', remaining: 12 }],
    [200, { 'transfer-encoding': 'Chunked', 'content-length': '3' }, { kind: 'chunked' }],
    [304, { 'content-length': '12' }, { kind: 'length', remaining: 0 }],
  ])('framingOf(%s, %j)', (status, headers, framing) => {
    expect(framingOf(status, headers)).toEqual(framing);
  });
  test.each([['-1'], ['1e3'], ['']])('framingOf refuses Content-Length %j', (cl) => {
    expect(() => framingOf(200, { 'content-length': cl })).toThrow(WireError);
  });
});
