/**
 * One HTTPS GET per connection, on Node's own HTTP/1.1 client: the registry path talks to servers org-ca does not
 * control, so the protocol is read by a parser that is kept (llhttp), not by hand. What org-ca adds around it:
 * - the connection: straight, or through the proxy's CONNECT tunnel (an https:// proxy spoken to over TLS first),
 *   verified against the registry's trust, the certificate checked against the host of the URL;
 * - limits: a head over 64 KiB is refused, header values with line breaks are never sent, `Connection: close`;
 * - an idle timeout that counts only while the reader waits for bytes: a reader that pauses (a worker busy scanning)
 *   is not idle;
 * - every failure as one line: a malformed answer is final, a connection that closed before any answer may be retried.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { routeFor, type Env } from '../../../detect/route.js';
import { present } from '../../../lang/present.js';

/** The pieces a body is handed over in: a file read gives 256 KiB, and the scan's steps are per piece. */
export const PIECE = 256 * 1024;
/** Status line and headers together; more is refused (registries send a few hundred bytes). */
export const MAX_HEAD = 64 * 1024;

/** A malformed or refused exchange. `retryable` when the connection ended before an answer: a retry may get one. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpAnswer {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
}

export interface HttpGetOptions {
  readonly env: Env;
  readonly trust: tls.SecureContext;
  /** Idle time after which the connection is given up, while the reader is waiting for bytes. */
  readonly timeoutMs: number;
  /** The error for an idle connection or a handshake that never finished (the caller's wording). */
  readonly timeoutError: () => Error;
}

const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What llhttp's codes mean, in one line each; anything else is "a malformed answer". */
const PARSE_ERRORS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: `the answer's headers are over ${MAX_HEAD / 1024} KiB`,
  HPE_INVALID_CONSTANT: 'not an HTTP/1.1 answer',
  HPE_INVALID_CHUNK_SIZE: 'an invalid chunk size in the answer',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'the answer has an invalid Content-Length',
  HPE_INVALID_CONTENT_LENGTH: 'the answer has an invalid Content-Length',
  HPE_INVALID_TRANSFER_ENCODING: 'the answer uses a transfer coding that was not asked for',
};

function describe(error: NodeJS.ErrnoException): HttpError | Error {
  const code = error.code ?? '';
  if (code.startsWith('HPE_')) return new HttpError(PARSE_ERRORS[code] ?? `a malformed HTTP answer (${code})`);
  if (code === 'ECONNRESET' || /socket hang up/.test(error.message))
    return new HttpError('the connection closed before an answer came', true);
  return error;
}

/** The TLS connection for one request: straight, or through the proxy's CONNECT tunnel; bounded by `timeoutMs`. */
export function openTls(url: URL, options: HttpGetOptions): Promise<tls.TLSSocket> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || 443);
  const route = routeFor({ url: url.href, host, port }, options.env);
  return new Promise((resolve, reject) => {
    let tunnel: Socket | undefined;
    let secured: tls.TLSSocket | undefined;
    /** Set once the promise is settled: whatever connects later is closed at once. */
    let over = false;
    const close = (): void => {
      connect?.destroy();
      tunnel?.destroy();
      secured?.destroy();
    };
    const settle = (error: Error | null, socket?: tls.TLSSocket): void => {
      if (over) {
        if (error) close();
        return;
      }
      over = true;
      clearTimeout(timer);
      if (error) {
        close();
        reject(error);
      } else resolve(socket!);
    };
    const timer = setTimeout(() => settle(options.timeoutError()), options.timeoutMs);
    const secure = (socket?: Socket): void => {
      if (over) return void socket?.destroy();
      const servername = /^[\d.]+$|:/.test(host) ? undefined : host;
      // `host` is what the certificate is checked against, also over a tunnel (Node would check 'localhost').
      secured = tls.connect({
        ...(socket ? { socket } : { port }),
        host,
        servername,
        secureContext: options.trust,
        rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'],
      });
      // Kept after the handshake: an error in the same turn as secureConnect, before the request's own listener is
      // on, must not go unhandled (settle ignores it then; the request sees the destroyed socket).
      secured.on('error', (error: Error) => settle(error));
      secured.once('secureConnect', () => settle(null, secured));
    };
    const proxy = route.kind === 'direct' ? undefined : route;
    // PROXY_TLS: an https:// proxy is spoken to over TLS first, verified against the same trust as the registry, so
    // the CONNECT and its Proxy-Authorization never cross the network in clear.
    const overTls = proxy?.protocol === 'https:';
    const connect = proxy
      ? (overTls ? https : http).request({
          host: proxy.host,
          port: proxy.port,
          method: 'CONNECT',
          path: `${host.includes(':') ? `[${host}]` : host}:${port}`,
          headers: {
            host: `${host}:${port}`,
            ...present({ 'proxy-authorization': proxy.authorization }),
          },
          ...(overTls
            ? {
                secureContext: options.trust,
                rejectUnauthorized: true,
                servername: /^[\d.]+$|:/.test(proxy.host) ? undefined : proxy.host,
                agent: false,
              }
            : {}),
        })
      : undefined;
    if (!proxy || !connect) return secure();
    connect.once('connect', (res, socket) => {
      tunnel = socket;
      if (res.statusCode !== 200)
        settle(new HttpError(`the proxy ${proxy.display} answered ${res.statusCode} to CONNECT ${host}:${port}`));
      else secure(socket);
    });
    connect.once('error', (error) =>
      settle(
        overTls
          ? new HttpError(
              `TLS to the proxy ${proxy.display} failed (${error.message}): expected a proxy certificate the job trusts (the system roots or the org CA given); no credentials were sent`,
            )
          : error,
      ),
    );
    connect.end();
  });
}

/** GET `url` over a connection of its own; resolves with the answer's head and its body as a stream. */
export async function httpGet(
  url: URL,
  headers: Readonly<Record<string, string>>,
  options: HttpGetOptions,
): Promise<HttpAnswer> {
  for (const [name, value] of Object.entries(headers)) {
    if (!FIELD_NAME.test(name) || /[\r\n\0]/.test(value))
      throw new HttpError(`refusing to send header '${name}': it contains a line break or is not a field name`);
  }
  const socket = await openTls(url, options);
  return new Promise((resolve, reject) => {
    let answer: http.IncomingMessage | undefined;
    let body: Readable | undefined;
    let lastBytes = Date.now();
    socket.on('data', () => (lastBytes = Date.now()));
    // Idle only while the reader waits: nothing buffered for it (a paused reader leaves bytes buffered, and then the
    // socket is paused by backpressure, which is not a silent server).
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastBytes < options.timeoutMs) return;
        if (answer && (answer.isPaused() || (body?.readableLength ?? 0) > 0)) return;
        const error = options.timeoutError();
        if (body) body.destroy(error);
        else request.destroy(error);
      },
      Math.max(50, Math.min(1000, options.timeoutMs / 4)),
    );
    socket.once('close', () => clearInterval(watchdog));
    const request = http.request(
      {
        createConnection: () => socket,
        method: 'GET',
        host: url.hostname,
        path: `${url.pathname}${url.search}`,
        headers: { host: url.host, connection: 'close', ...headers },
        maxHeaderSize: MAX_HEAD,
        // No agent: createConnection hands over the connection opened above, one request on it.
      },
      (res) => {
        answer = res;
        const status = res.statusCode ?? 0;
        if (status === 101) {
          res.destroy();
          reject(new HttpError('the answer switches protocols (101), which was not asked for'));
          return;
        }
        // No prototype: a field a hostile server names like an Object member is a field like any other.
        const flat = Object.create(null) as Record<string, string>;
        for (const [name, value] of Object.entries(res.headers))
          if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        res.on('error', () => clearInterval(watchdog));
        body = guarded(res);
        resolve({ status, headers: flat, body });
      },
    );
    // A 101 with Upgrade comes as 'upgrade', not as an answer: nothing here asked to switch protocols.
    request.on('upgrade', (_res, upgraded: Socket) => {
      clearInterval(watchdog);
      upgraded.destroy();
      reject(new HttpError('the answer switches protocols (101), which was not asked for'));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearInterval(watchdog);
      socket.destroy();
      reject(answer ? error : describe(error));
    });
    request.end();
  });
}

/** The body, with a break or a malformed chunk as one line (the parser's words are codes). */
function guarded(res: http.IncomingMessage): Readable {
  const out = new Readable({
    highWaterMark: 64 * 1024,
    read: () => res.resume(),
    destroy: (error, callback) => {
      res.destroy();
      callback(error);
    },
  });
  res.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) res.pause();
  });
  res.on('end', () => {
    if (!res.complete) out.destroy(new HttpError('the connection closed before the whole answer came'));
    else out.push(null);
  });
  res.on('aborted', () => out.destroy(new HttpError('the connection closed before the whole answer came')));
  res.on('error', (error: NodeJS.ErrnoException) =>
    out.destroy(error.code?.startsWith('HPE_') ? describe(error) : error),
  );
  return out;
}

/**
 * Hands a body on in pieces of `size` bytes (the last shorter): one copy per byte, so the scan's per-piece steps run
 * once per 256 KiB rather than once per 16 KiB TLS record.
 */
export async function* inPieces(body: AsyncIterable<Buffer>, size = PIECE): AsyncGenerator<Buffer> {
  let piece = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(size - filled, chunk.length - at);
      chunk.copy(piece, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === size) {
        yield piece;
        piece = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled) yield piece.subarray(0, filled);
}
