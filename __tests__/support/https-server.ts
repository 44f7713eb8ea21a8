/**
 * A real HTTPS server on 127.0.0.1 for one test file (jest hooks), standing in for a registry: each test sets what it
 * answers, and every request's path and Authorization is recorded (cleared before each test).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Issued } from './pki.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, port: number) => void;

export interface RecordingServer {
  readonly port: number;
  /** What the server answers; set by each test. */
  handler: Handler;
  readonly seen: { url: string; authorization?: string }[];
}

export function useRecordingHttpsServer(leaf: Issued): RecordingServer {
  let server: Server;
  const state: { port: number; handler: Handler; seen: RecordingServer['seen'] } = {
    port: 0,
    handler: () => undefined,
    seen: [],
  };
  beforeAll(async () => {
    server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      state.seen.push({
        url: req.url ?? '',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      state.handler(req, res, state.port);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    state.port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (state.seen.length = 0));
  return state;
}
