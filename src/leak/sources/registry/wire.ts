/**
 * One HTTP/1.1 GET per TLS connection, read without Node's http module.
 *
 * Why by hand: a layer arrives as 16 KiB TLS records, and the http module's path per record (the parser's callback,
 * an IncomingMessage push, a fresh Buffer, then a copy into the scan's 256 KiB pieces) cost the scan's worker about
 * 1 s of CPU per GB, which on a busy runner is most of what a registry scan costs over the same scan of a file.
 * Here, on a direct connection, TLS decrypts into one reused buffer (tls `onread`) and the body is copied once, into
 * the pieces the scan reads. Through a proxy's CONNECT tunnel Node offers no `onread`, and the socket's chunks are
 * copied the same way.
 *
 * What it reads is what registries and their blob stores answer: a status line, headers, and a body framed by
 * Content-Length, by the chunked transfer coding, or by the end of the connection (`Connection: close` is sent, so
 * a connection serves one request). Anything else is an error in one line, never a guess.
 */
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** The pieces the body is handed over in: a file read gives 256 KiB, and the scan's steps are per piece. */
export const PIECE = 256 * 1024;
/** Status line and headers together; more is refused (registries send a few hundred bytes). */
const MAX_HEAD = 64 * 1024;
/** A chunk-size line or trailer line; more is refused. */
const MAX_LINE = 4096;
/** Interim (1xx) answers before the real one; more is refused. */
const MAX_INTERIM = 8;

/** A malformed or refused exchange. `retryable` when the connection ended before an answer: a retry may get one. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

export interface WireResponse {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
}

/** Opens the TLS connection; `onread` is honoured on a direct connection (Node ignores it on a wrapped socket). */
export type OpenSocket = (onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean }) => Promise<TLSSocket>;

export interface WireRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** Idle time after which the connection is given up, while the reader is waiting for bytes. */
  readonly timeoutMs: number;
  /** The error for an idle connection (the caller's wording). */
  readonly timeoutError: () => Error;
}

type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

/** Parses the head (status line and header fields, without the blank line). Throws WireError on anything malformed. */
export function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) throw new WireError(`not an HTTP/1.1 answer (status line ${JSON.stringify((lines[0] ?? '').slice(0, 40))})`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) throw new WireError(`a malformed header line in the answer (${JSON.stringify(line.slice(0, 40))})`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers };
}

/** How the body of an answer to a GET ends (RFC 9112 section 6.3). */
export function framingOf(status: number, headers: Readonly<Record<string, string>>): Framing {
  if (status === 204 || status === 304) return { kind: 'length', remaining: 0 };
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
    if (codings.length === 1 && codings[0] === 'chunked') return { kind: 'chunked' };
    // Another coding (gzip, …) was not asked for and would change the bytes whose digest is checked.
    throw new WireError(`the answer uses transfer coding '${te}', which was not asked for`);
  }
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const values = new Set(cl.split(',').map((v) => v.trim()));
    const [only] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(only!)) throw new WireError(`the answer has an invalid Content-Length '${cl}'`);
    return { kind: 'length', remaining: Number(only) };
  }
  return { kind: 'close' };
}

/**
 * Sends `GET url` on a fresh connection and resolves when the head has arrived. The body is a stream of pieces of
 * up to PIECE bytes; it errors if the connection ends before the framing says the body is complete. Destroying the
 * body closes the connection.
 */
export function wireGet(open: OpenSocket, request: WireRequest): Promise<WireResponse> {
  for (const [name, value] of Object.entries(request.headers)) {
    // A value with a line break would add a header or a request of its own (a token service is not trusted).
    if (/[\r\n]/.test(value) || !/^[\w-]+$/.test(name)) return Promise.reject(new WireError(`refusing to send header '${name}': it contains a line break or is not a field name`));
  }
  return new Promise((resolve, reject) => {
    let socket: TLSSocket | undefined;
    let settled = false;
    const headBuffer = Buffer.allocUnsafe(MAX_HEAD + 4);
    let headLength = 0;
    let interim = 0;
    let framing: Framing | undefined;
    let body: Readable | undefined;
    let piece: Buffer | undefined;
    let filled = 0;
    let received = 0;
    /** The body's length when Content-Length gives it. */
    let expected: number | undefined;
    let paused = false;
    let done = false;
    // Chunked coding state.
    let chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
    let chunkLeft = 0;
    let line = '';

    const fail = (error: Error): void => {
      if (done) return;
      done = true;
      socket?.destroy();
      if (!settled) {
        settled = true;
        reject(error);
      } else body?.destroy(error);
    };

    const flush = (): void => {
      if (!piece || filled === 0) return;
      const out = filled === piece.length ? piece : piece.subarray(0, filled);
      piece = undefined;
      filled = 0;
      if (!body!.push(out) && !paused) {
        paused = true;
        socket?.setTimeout(0);
        socket?.pause();
      }
    };

    const finish = (): void => {
      if (done) return;
      done = true;
      flush();
      body!.push(null);
      socket?.destroy();
    };

    /** Copies body bytes into the current piece, handing full pieces on. */
    const deliver = (buf: Buffer, from: number, to: number): void => {
      while (from < to) {
        if (!piece) {
          piece = Buffer.allocUnsafe(expected === undefined ? PIECE : Math.max(1, Math.min(PIECE, expected - received)));
        }
        const n = Math.min(to - from, piece.length - filled);
        buf.copy(piece, filled, from, from + n);
        filled += n;
        from += n;
        received += n;
        if (filled === piece.length) flush();
      }
    };

    const readLine = (buf: Buffer, at: number, end: number): { next: number; line?: string } => {
      const nl = buf.indexOf(10, at);
      const stop = nl === -1 || nl >= end ? end : nl + 1;
      line += buf.toString('latin1', at, stop);
      if (line.length > MAX_LINE) throw new WireError('a chunk-size or trailer line of the answer is over 4 KiB');
      if (stop === end && !line.endsWith('\n')) return { next: stop };
      const whole = line.replace(/\r?\n$/, '');
      line = '';
      return { next: stop, line: whole };
    };

    const chunked = (buf: Buffer, at: number, end: number): void => {
      while (at < end && !done) {
        if (chunkState === 'data') {
          const n = Math.min(chunkLeft, end - at);
          deliver(buf, at, at + n);
          at += n;
          chunkLeft -= n;
          if (chunkLeft === 0) chunkState = 'data-end';
          continue;
        }
        const r = readLine(buf, at, end);
        at = r.next;
        if (r.line === undefined) continue;
        if (chunkState === 'data-end') {
          if (r.line !== '') throw new WireError('a chunk of the answer is longer than its size says');
          chunkState = 'size';
        } else if (chunkState === 'size') {
          const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(r.line);
          if (!size) throw new WireError(`an invalid chunk size in the answer (${JSON.stringify(r.line.slice(0, 20))})`);
          chunkLeft = parseInt(size[1]!, 16);
          chunkState = chunkLeft === 0 ? 'trailer' : 'data';
        } else if (r.line === '') return finish();
      }
    };

    const bodyBytes = (buf: Buffer, at: number, end: number): void => {
      const f = framing!;
      if (f.kind === 'chunked') return chunked(buf, at, end);
      if (f.kind === 'close') return deliver(buf, at, end);
      const n = Math.min(f.remaining, end - at);
      deliver(buf, at, at + n);
      f.remaining -= n;
      // Bytes past the framed body are not part of it; the connection is closed either way.
      if (f.remaining === 0) finish();
    };

    const onHead = (input: Buffer, at: number, end: number): void => {
      let bytes = input;
      let parsed: ReturnType<typeof parseHead>;
      let rest: Buffer;
      for (;;) {
        const from = Math.max(0, headLength - 3);
        const copied = bytes.copy(headBuffer, headLength, at, end);
        headLength += copied;
        const stop = headBuffer.subarray(0, headLength).indexOf('\r\n\r\n', from);
        if (stop === -1) {
          if (headLength === headBuffer.length) throw new WireError(`the answer's headers are over ${MAX_HEAD / 1024} KiB`);
          return;
        }
        parsed = parseHead(headBuffer.toString('latin1', 0, stop));
        // What came after the head: in the buffer, and what did not fit in it.
        rest = Buffer.concat([headBuffer.subarray(stop + 4, headLength), bytes.subarray(at + copied, end)]);
        headLength = 0;
        if (parsed.status === 101) throw new WireError('the answer switches protocols (101), which was not asked for');
        if (parsed.status >= 200) break;
        // An interim answer (100 Continue, 103 Early Hints) precedes the real one; a few, not an endless stream.
        if (++interim > MAX_INTERIM) throw new WireError(`more than ${MAX_INTERIM} interim (1xx) answers`);
        bytes = rest;
        at = 0;
        end = rest.length;
      }
      framing = framingOf(parsed.status, parsed.headers);
      if (framing.kind === 'length') expected = framing.remaining;
      body = new Readable({
        highWaterMark: 2 * PIECE,
        read() {
          if (paused && !done) {
            paused = false;
            socket?.setTimeout(request.timeoutMs);
            socket?.resume();
          }
        },
        destroy(error, callback) {
          done = true;
          socket?.destroy();
          callback(error);
        },
      });
      // An error before the reader attaches must not be an unhandled 'error' event: the reader's iterator still
      // rejects with it (the stream is destroyed with that error).
      body.on('error', () => undefined);
      settled = true;
      resolve({ status: parsed.status, headers: parsed.headers, body });
      if (framing.kind === 'length' && framing.remaining === 0) return finish();
      if (rest.length) bodyBytes(rest, 0, rest.length);
    };

    const feed = (buf: Buffer, n: number): boolean => {
      if (done) return false;
      try {
        if (!framing) onHead(buf, 0, n);
        else bodyBytes(buf, 0, n);
      } catch (error) {
        fail(error as Error);
        return false;
      }
      return !paused;
    };

    const onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n: number, buf: Buffer) => feed(buf, n) };
    open(onread).then(
      (s) => {
        socket = s;
        if (done) return s.destroy();
        // On a wrapped socket `onread` is ignored and the bytes come as 'data'.
        s.on('data', (chunk: Buffer) => feed(chunk, chunk.length));
        s.setTimeout(request.timeoutMs, () => fail(request.timeoutError()));
        s.on('error', (error: Error) => fail(error));
        s.on('close', () => {
          if (done) return;
          if (framing?.kind === 'close') return finish();
          const what = !framing
            ? 'the connection closed before an answer came'
            : framing.kind === 'length'
              ? `the connection closed after ${received} of ${received + framing.remaining} bytes`
              : `the connection closed after ${received} bytes, inside the chunked body`;
          fail(new WireError(what, !framing));
        });
        const u = request.url;
        const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close'];
        for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
        s.write(`${lines.join('\r\n')}\r\n\r\n`);
      },
      (error: Error) => fail(error),
    );
  });
}
