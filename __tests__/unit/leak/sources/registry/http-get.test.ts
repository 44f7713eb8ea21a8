/**
 * The registry client's GET (src/leak/sources/registry/http-get.ts, Node's own HTTP/1.1 client) against a real local
 * TLS server that writes raw bytes: every body framing a registry or a blob store uses (Content-Length, chunked, the
 * connection's end), split at arbitrary points across TLS records. Every break or malformed answer is one line and
 * never a body that looks whole; a hostile head is refused.
 */
import tls, { type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mintLeaf, mintRoot } from '../../../../support/pki.js';
import {
  httpGet,
  HttpError,
  inPieces,
  PIECE,
  type HttpAnswer,
} from '../../../../../src/leak/sources/registry/http-get.js';

const root = mintRoot({ cn: 'Http Get Test Root' });
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
beforeEach(() => (connections = 0));

const get = (
  path = '/v2/x/blobs/sha256:a',
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<HttpAnswer> =>
  httpGet(new URL(`https://127.0.0.1:${port}${path}`), headers, {
    env: {},
    trust,
    timeoutMs,
    timeoutError: () => new Error(`idle for ${timeoutMs} ms`),
  });

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
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
    parts.push(
      Buffer.from(`${n.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`),
      data.subarray(at, at + n),
      Buffer.from('\r\n'),
    );
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

test('a Content-Length body arrives whole, split anywhere; repeated fields are joined', async () => {
  respond = (s) =>
    dribble(
      s,
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\nX-A: 1\r\nx-a: 2\r\n\r\n`),
        payload,
      ]),
      [1, 7, 16384, 3, 65536, 100001],
    );
  const res = await get();
  expect(res.status).toBe(200);
  expect(res.headers['x-a']).toBe('1, 2');
  expect((await readAll(res.body)).equals(payload)).toBe(true);
});

test("fields named like Object members are fields like any other, and no answer reaches the headers object's prototype", async () => {
  respond = (s) => s.end('HTTP/1.1 200 OK\r\n__proto__: x\r\nConstructor: y\r\nContent-Length: 0\r\n\r\n');
  const res = await get();
  expect(res.headers.constructor).toBe('y');
  expect(Object.getPrototypeOf(res.headers)).toBeNull();
});

test('a chunked body with extensions and a trailer is decoded, whatever the split', async () => {
  respond = (s) =>
    dribble(
      s,
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        chunkedOf(payload, [1, 4096, 70000, 5], 'X-Trailer: t\r\n'),
      ]),
      [1, 2, 3, 5000, 17],
    );
  expect((await readAll((await get()).body)).equals(payload)).toBe(true);
});

test('a body without a length ends with the connection', async () => {
  respond = (s) => dribble(s, Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), payload]), [9000]);
  expect((await readAll((await get()).body)).equals(payload)).toBe(true);
});

test('an interim 100 answer is skipped; a 204 has no body', async () => {
  respond = (s) => s.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
  const res = await get();
  expect(res.status).toBe(200);
  expect((await readAll(res.body)).toString()).toBe('hello');
  respond = (s) => s.end('HTTP/1.1 204 No Content\r\n\r\n');
  const empty = await get();
  expect(empty.status).toBe(204);
  expect((await readAll(empty.body)).length).toBe(0);
});

test.each([
  [
    'Content-Length',
    () =>
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`),
        payload.subarray(0, 300000),
      ]),
  ],
  [
    'chunked',
    () =>
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
        chunkedOf(payload, [50000]).subarray(0, 120000),
      ]),
  ],
])('a %s body cut short is an error, never a short body that looks whole', async (_kind, bytes) => {
  respond = (s) => dribble(s, bytes(), [20000], () => s.destroy());
  const res = await get();
  await expect(readAll(res.body)).rejects.toThrow(/closed|aborted/);
});

test('the request carries the path with its query, the Host with its port, Connection: close and the given headers', async () => {
  let seen = '';
  respond = (s, request) => {
    seen = request;
    s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  };
  await readAll(
    (await get('/cdn/blob?sig=a%2Bb&exp=1', { authorization: 'Bearer t', 'user-agent': 'org-ca-leak-check' })).body,
  );
  const lines = seen.split('\r\n');
  expect(lines[0]).toBe('GET /cdn/blob?sig=a%2Bb&exp=1 HTTP/1.1');
  expect(
    lines
      .slice(1)
      .map((l) => l.toLowerCase())
      .sort(),
  ).toEqual([
    'authorization: bearer t',
    'connection: close',
    `host: 127.0.0.1:${port}`,
    'user-agent: org-ca-leak-check',
  ]);
});

test('a header value with a line break is refused before any connection is made', async () => {
  const error = await get('/v2/', { authorization: 'Bearer x\r\nX-Injected: 1' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).message).toBe(
    "refusing to send header 'authorization': it contains a line break or is not a field name",
  );
  expect(connections).toBe(0);
});

test.each([
  ['a status line that is not HTTP/1.x', 'SSH-2.0-OpenSSH\r\n\r\n'],
  ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken line\r\n\r\n'],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'],
  ['headers over 64 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`],
  ['a 101 that was not asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n'],
])('%s is a one-line error that is not retried', async (_name, answer) => {
  respond = (s) => s.end(answer);
  const error = await get().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).message.split('\n')).toHaveLength(1);
  expect((error as HttpError).retryable).toBe(false);
});

test('an invalid chunk size fails the body in one line', async () => {
  respond = (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n');
  const res = await get();
  await expect(readAll(res.body)).rejects.toThrow(/^an invalid chunk size in the answer$|closed/);
});

test('a connection closed before any answer is a retryable error', async () => {
  respond = (s) => s.destroy();
  const error = await get().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  expect((error as HttpError).message).toBe('the connection closed before an answer came');
  expect((error as HttpError).retryable).toBe(true);
});

test("a silent server times out with the caller's error; a reader that pauses longer than the timeout does not", async () => {
  respond = () => undefined;
  await expect(get('/v2/', {}, 300)).rejects.toThrow('idle for 300 ms');

  respond = (s) =>
    s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`), payload]));
  const res = await get('/v2/', {}, 300);
  // Nobody reads for 900 ms: the body's buffer fills, the socket is paused, and a paused socket is not idle.
  await new Promise((r) => setTimeout(r, 900));
  expect((await readAll(res.body)).equals(payload)).toBe(true);

  // A server that sends the head and then nothing, while the reader waits: idle.
  respond = (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\n\r\n`);
  const stalled = await get('/v2/', {}, 300);
  await expect(readAll(stalled.body)).rejects.toThrow('idle for 300 ms');
});

test('destroying the body closes the connection', async () => {
  let closed!: Promise<void>;
  respond = (s) => {
    closed = new Promise((r) => s.once('close', () => r()));
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${10 * payload.length}\r\n\r\n`);
    s.write(payload);
  };
  const res = await get();
  res.body.destroy();
  await closed;
});

test('inPieces hands a body on in whole pieces, one copy per byte, the last shorter', async () => {
  const chunks = [1, 16384, 7, 300000, 16384, 99].map((n, i) => Buffer.alloc(n, i));
  const pieces: Buffer[] = [];
  for await (const p of inPieces(Readable.from(chunks) as AsyncIterable<Buffer>)) pieces.push(Buffer.from(p));
  expect(Buffer.concat(pieces).equals(Buffer.concat(chunks))).toBe(true);
  expect(pieces.slice(0, -1).every((p) => p.length === PIECE)).toBe(true);
  expect(pieces.at(-1)!.length).toBeLessThanOrEqual(PIECE);
});
