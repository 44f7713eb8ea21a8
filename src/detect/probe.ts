/**
 * The probe: one TLS handshake per URL along the path the job's tools take (an HTTP CONNECT tunnel through the
 * environment's proxy, or direct), reading the chain the far end presents without trusting it. I/O only; judging
 * the chain is classify.ts's job.
 *
 * Node's fetch proxy support is not used: it verifies the chain and hides it, and the raw chain is what is judged.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { certificateFromDer, type Certificate } from '../ca/certificate.js';
import { parseTarget, routeFor, TargetError, type Env, type ProxyRoute, type Route, type Target } from './route.js';
import { logLine } from '../output/log-line.js';
import { present } from '../lang/present.js';

export type FailureKind =
  | 'dns'
  | 'refused'
  | 'timeout'
  | 'reset'
  | 'proxy-auth'
  | 'proxy-denied'
  | 'proxy-error'
  | 'tls'
  | 'config'
  | 'cancelled';

export interface ProbeFailure {
  readonly kind: FailureKind;
  /** One line, safe to log (never holds proxy credentials). */
  readonly message: string;
}

export interface ProbeResult {
  readonly url: string;
  readonly target?: Target;
  readonly route?: Route;
  /** What the server sent, leaf first, as sent; empty on failure. */
  readonly chain: readonly Certificate[];
  readonly failure?: ProbeFailure;
  readonly elapsedMs: number;
}

export interface ProbeOptions {
  readonly env: Env;
  /** One deadline for all probes together. */
  readonly timeoutMs: number;
  /**
   * Called after each answer with every slot (undefined = still running); returning true ends the remaining probes
   * early, as `cancelled`. This is how the caller decides as soon as the answers allow.
   */
  readonly stopWhen?: (results: readonly (ProbeResult | undefined)[]) => boolean;
}

export class ProbeError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_PROXY_RESPONSE = 16 * 1024;

function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Node's socket errors, as one of the reasons the issue names. `where` says whose endpoint it is. */
export function classifyError(error: unknown, where: string): ProbeError {
  if (error instanceof ProbeError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const text = e instanceof Error ? e.message.split('\n')[0]! : String(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') {
    return new ProbeError('dns', `DNS lookup of ${where} failed (${code})`);
  }
  if (code === 'ECONNREFUSED') return new ProbeError('refused', `${where} refused the connection (ECONNREFUSED)`);
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return new ProbeError('reset', `${where} closed the connection during the TLS handshake (${code})`);
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return new ProbeError('timeout', `${where} unreachable (${code})`);
  if (code.startsWith('ERR_SSL_') || /alert|handshake|wrong version number/i.test(text)) {
    return new ProbeError('tls', `TLS handshake with ${where} failed: ${text}${code ? ` (${code})` : ''}`);
  }
  return new ProbeError('reset', `${where}: ${text}${code ? ` (${code})` : ''}`);
}

/** Reads the proxy's answer to CONNECT; resolves once the tunnel is open, with any bytes that came after it. */
function readConnectResponse(socket: Socket, proxy: ProxyRoute): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffer.length > MAX_PROXY_RESPONSE)
          finish(
            new ProbeError(
              'proxy-error',
              `proxy ${proxy.display} sent no end of headers in ${MAX_PROXY_RESPONSE} bytes`,
            ),
          );
        return;
      }
      // Up to the first line end of any kind: a bare LF must not carry the proxy's next "line" along.
      const statusLine = logLine(buffer.subarray(0, buffer.indexOf('\n')).toString('latin1').trim()).slice(0, 200);
      const status = Number(/^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine)?.[1] ?? NaN);
      if (status >= 200 && status < 300) return finish(undefined, buffer.subarray(end + 4));
      const line = `proxy ${proxy.display} answered CONNECT with '${statusLine}'`;
      if (status === 407) {
        const why = proxy.authorization
          ? `it refused the credentials in ${proxy.variable}`
          : `it wants credentials and ${proxy.variable} has none`;
        return finish(new ProbeError('proxy-auth', `${line}: ${why}`));
      }
      if (status === 403) return finish(new ProbeError('proxy-denied', `${line}: the proxy refuses this destination`));
      return finish(new ProbeError('proxy-error', line));
    };
    const onError = (error: Error): void => finish(classifyError(error, `proxy ${proxy.display}`));
    const onClose = (): void =>
      finish(new ProbeError('reset', `proxy ${proxy.display} closed the connection before answering CONNECT`));
    const finish = (error?: ProbeError, rest?: Buffer): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(rest ?? Buffer.alloc(0));
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/** Opens a connection to the proxy (TLS-verified when it is https://, since credentials go over it). */
function connectToProxy(proxy: ProxyRoute, track: (s: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      proxy.protocol === 'https:'
        ? tlsConnect({ host: proxy.host, port: proxy.port, ...(isIP(proxy.host) ? {} : { servername: proxy.host }) })
        : netConnect({ host: proxy.host, port: proxy.port });
    track(socket);
    const ready = proxy.protocol === 'https:' ? 'secureConnect' : 'connect';
    socket.once(ready, () => {
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: Error): void => reject(classifyError(error, `proxy ${proxy.display}`));
    socket.once('error', onError);
  });
}

/** The chain exactly as presented: walks node's issuerCertificate links, which stop at a self-issued certificate. */
function presentedChain(socket: TLSSocket): Certificate[] {
  const chain: Certificate[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert && cert.raw && !seen.has(cert)) {
    seen.add(cert);
    chain.push(certificateFromDer(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

function handshake(
  target: Target,
  socket: Socket | undefined,
  head: Buffer,
  track: (s: Socket) => void,
): Promise<Certificate[]> {
  return new Promise((resolve, reject) => {
    if (socket && head.length) socket.unshift(head);
    const tls = tlsConnect({
      ...(socket ? { socket } : { host: target.host, port: target.port }),
      // SNI is for names only (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted").
      ...(isIP(target.host) ? {} : { servername: target.host }),
      rejectUnauthorized: false,
      // An empty CA list, not the default one: node completes getPeerCertificate(true) from its own store, which
      // would add roots the server never sent (src/crypto/crypto_common.cc GetPeerCert → GetLastIssuedCert).
      ca: [],
      ALPNProtocols: ['http/1.1'],
    });
    track(tls);
    tls.once('secureConnect', () => {
      try {
        resolve(presentedChain(tls));
      } catch (error) {
        reject(
          new ProbeError(
            'tls',
            `${hostPort(target.host, target.port)} sent a certificate that does not parse: ${(error as Error).message}`,
          ),
        );
      }
      tls.destroy();
    });
    tls.once('error', (error) => reject(classifyError(error, hostPort(target.host, target.port))));
  });
}

async function probeOne(target: Target, route: Route, track: (s: Socket) => void): Promise<Certificate[]> {
  if (route.kind === 'direct') return handshake(target, undefined, Buffer.alloc(0), track);
  const socket = await connectToProxy(route, track);
  const authority = hostPort(target.host, target.port);
  const headers = [
    `CONNECT ${authority} HTTP/1.1`,
    `Host: ${authority}`,
    ...(route.authorization ? [`Proxy-Authorization: ${route.authorization}`] : []),
    '',
    '',
  ];
  const answer = readConnectResponse(socket, route);
  socket.write(headers.join('\r\n'));
  const head = await answer;
  return handshake(target, socket, head, track);
}

/**
 * Probes every URL in parallel under one deadline. Never rejects: each URL gets a result with a chain or a failure.
 * Every socket opened is destroyed before this resolves, so a dead URL cannot keep the process alive.
 */
export async function probeAll(urls: readonly string[], options: ProbeOptions): Promise<ProbeResult[]> {
  const started = performance.now();
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    // Errors are read by the listeners of each stage; this one keeps a late error (after the deadline) from
    // becoming an uncaught exception.
    s.on('error', () => {});
  };
  const results: (ProbeResult | undefined)[] = urls.map(() => undefined);
  let settle!: () => void;
  const allDone = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let finished = false;
  const record = (i: number, result: ProbeResult): void => {
    if (finished || results[i]) return;
    results[i] = result;
    if (results.every(Boolean) || options.stopWhen?.(results)) settle();
  };
  const elapsed = (): number => Math.round(performance.now() - started);

  urls.forEach((url, i) => {
    let target: Target | undefined;
    let route: Route | undefined;
    try {
      target = parseTarget(url);
      route = routeFor(target, options.env);
    } catch (error) {
      const message = error instanceof TargetError ? error.message : String(error);
      queueMicrotask(() =>
        record(i, {
          url,
          ...present({ target }),
          chain: [],
          failure: { kind: 'config', message },
          elapsedMs: elapsed(),
        }),
      );
      return;
    }
    const base = { url: target.url, target, route };
    probeOne(target, route, track).then(
      (chain) => record(i, { ...base, chain, elapsedMs: elapsed() }),
      (error) => {
        const failure = classifyError(error, hostPort(target.host, target.port));
        record(i, {
          ...base,
          chain: [],
          failure: { kind: failure.kind, message: failure.message },
          elapsedMs: elapsed(),
        });
      },
    );
  });
  if (urls.length === 0) settle();

  const timer = setTimeout(settle, options.timeoutMs);
  await allDone;
  finished = true;
  clearTimeout(timer);
  for (const socket of sockets) socket.destroy();
  const stoppedEarly = options.stopWhen?.(results) ?? false;
  return urls.map((url, i) => {
    const done = results[i];
    if (done) return done;
    let target: Target | undefined;
    let route: Route | undefined;
    try {
      target = parseTarget(url);
      route = routeFor(target, options.env);
    } catch {
      // a bad URL always answers at once; unreachable here
    }
    const where = target ? hostPort(target.host, target.port) : url;
    const via = route?.kind === 'proxy' ? ` through proxy ${route.display}` : '';
    const failure: ProbeFailure = stoppedEarly
      ? { kind: 'cancelled', message: `not waited for: the other answers already decided` }
      : { kind: 'timeout', message: `no TLS handshake with ${where}${via} within ${options.timeoutMs} ms` };
    return {
      url: target?.url ?? url,
      ...present({ target, route }),
      chain: [],
      failure,
      elapsedMs: elapsed(),
    };
  });
}
