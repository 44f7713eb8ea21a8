/**
 * Small loopback servers for the probe's tests: a TLS server with a chosen chain, a CONNECT proxy (optional basic
 * auth, optional deny list), a black hole that accepts and never answers, and a port nobody listens on.
 * The real inspection proxies (mitmdump, squid) are used by the end-to-end tests.
 */
import { createServer as createNetServer, connect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface Running {
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>): Promise<Running> {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export async function tlsServer(options: {
  certChainPem: string;
  keyPem: string;
  alpn?: string[];
}): Promise<Running & { servernames: string[] }> {
  const servernames: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTlsServer(
    {
      cert: options.certChainPem,
      key: options.keyPem,
      ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
      // called only when the client sends SNI: the list is exactly the names clients sent
      SNICallback: (name, callback) => {
        servernames.push(name);
        callback(null, undefined);
      },
    },
    (s) => s.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'),
  );
  server.on('tlsClientError', () => {});
  return { ...(await listen(server, sockets)), servernames };
}

export async function connectProxy(
  options: { auth?: { user: string; password: string }; deny?: (authority: string) => boolean } = {},
): Promise<Running & { requests: { authority: string; authorization?: string }[] }> {
  const requests: { authority: string; authorization?: string }[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const authority = lines[0]!.split(' ')[1]!;
      const authorization = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, '');
      requests.push({ authority, ...(authorization ? { authorization } : {}) });
      const want = options.auth
        ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`
        : undefined;
      if (want && authorization !== want) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="lab"\r\ncontent-length: 0\r\n\r\n',
        );
        return;
      }
      if (options.deny?.(authority)) {
        client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const [host, port] = [
        authority.slice(0, authority.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
        Number(authority.slice(authority.lastIndexOf(':') + 1)),
      ];
      const upstream = connect({ host, port }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = head.subarray(end + 4);
        if (rest.length) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => sockets.delete(upstream));
    };
    client.on('data', onData);
  });
  return { ...(await listen(server, sockets)), requests };
}

export async function blackHole(): Promise<Running & { open(): number; accepted(): number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((s) => {
    accepted++;
    // read (and drop) what comes, so that the client's close is seen
    s.resume();
  });
  const running = await listen(server, sockets);
  return { ...running, open: () => sockets.size, accepted: () => accepted };
}

/** A port that was free a moment ago: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const sockets = new Set<Socket>();
  const running = await listen(createNetServer(), sockets);
  await running.close();
  return running.port;
}
