/**
 * Attack: proxy credentials sent in clear. With HTTPS_PROXY=https://user:password@proxy, a client must speak TLS to
 * the proxy before its CONNECT, or refuse. Guard: PROXY_TLS (src/leak/sources/registry/client.ts; src/cli/doctor.ts for Java,
 * whose HTTP client cannot). A plain TCP listener posing as the https:// proxy records every byte it is sent.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, runCli } from '../../support/cli.js';

const SECRET = 'pr0xyS3cret';
const BASIC = Buffer.from(`user:${SECRET}`).toString('base64');

let server: Server;
let port: number;
const received: Buffer[] = [];
const sockets = new Set<Socket>();
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-proxy-tls-'));
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      // Not a TLS server: whatever arrived is recorded, then the connection is closed.
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  received.length = 0;
});

function proxyEnv(): Record<string, string> {
  const url = `https://user:${SECRET}@127.0.0.1:${port}`;
  return { PATH: process.env.PATH ?? '', HOME: work, HTTPS_PROXY: url, https_proxy: url, NO_PROXY: '', no_proxy: '' };
}

function expectNothingInClear(): void {
  const all = Buffer.concat(received);
  expect(all.toString('latin1')).not.toMatch(/proxy-authorization/i);
  expect(all.includes(SECRET)).toBe(false);
  expect(all.includes(BASIC)).toBe(false);
}

test('the leak check’s registry client speaks TLS to an https:// proxy first: no CONNECT, no credentials in clear', async () => {
  const r = await runCli(
    await cliEntry(),
    ['leak-check', 'registry:registry.test/app:1', '--fingerprint', 'ab'.repeat(32)],
    { env: proxyEnv(), timeoutMs: 60_000 },
  );
  expect(r.status).not.toBe(0);
  expect(received.length).toBeGreaterThan(0);
  // A TLS ClientHello: a handshake record (0x16) of TLS 1.x (0x03 …).
  for (const chunk of received.slice(0, 1)) expect([chunk[0], chunk[1]]).toEqual([0x16, 0x03]);
  expectNothingInClear();
  expect(r.stderr + r.stdout).not.toContain(SECRET);
  expect(r.stderr + r.stdout).toMatch(/TLS to the proxy https:\/\/127\.0\.0\.1:\d+ failed/);
}, 90_000);

test('doctor refuses Java and Python’s urllib for an https:// proxy (they cannot speak TLS to one) rather than send credentials in clear', async () => {
  const r = await runCli(await cliEntry(), ['doctor', 'https://upstream.test/', '--timeout', '10s'], {
    env: proxyEnv(),
    timeoutMs: 120_000,
  });
  for (const client of ['java', 'python3']) {
    expect(r.stdout + r.stderr).toMatch(
      new RegExp(
        `${client} cannot speak TLS to the https:// proxy https://127\\.0\\.0\\.1:\\d+: org-ca will not send the proxy credentials in clear`,
      ),
    );
  }
  expectNothingInClear();
  expect(r.stdout + r.stderr).not.toContain(SECRET);
}, 150_000);
