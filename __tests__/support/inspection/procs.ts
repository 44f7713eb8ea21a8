/**
 * Long-lived helper processes (upstream, proxies) for end-to-end tests. Each runs in its own process group, on a
 * lifeline (a pipe from the test process: when that process dies, even by SIGKILL, the pipe closes and the group is
 * signalled) and under `timeout` as a last bound; stop() ends the group and waits for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

/** Upper bound on any helper's life, even when nothing calls stop() (a SIGKILLed jest worker runs no exit hook). */
const HARD_LIMIT_S = 900;

export interface Service {
  readonly url: string;
  readonly port: number;
  /** The file where the process writes its stdout/stderr (and, for proxies, its flow/access lines). */
  readonly log: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * `sh -c LIFELINE lifeline CMD ARGS…`: runs CMD, and signals the whole group once stdin (the test process's end of a
 * pipe) reaches EOF. fd 3 carries stdin to the watcher because sh gives background jobs /dev/null as stdin.
 */
const LIFELINE = `exec 3<&0
"$@" &
child=$!
{ cat <&3 >/dev/null; kill -TERM 0; } &
wait "$child"`;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

// Last-resort safety net: whatever a test file forgot to stop dies with the test process.
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function logTail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface SpawnServiceOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly log: string;
  readonly url: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly readyTimeoutMs?: number;
  /** More logs to quote when the service fails to start (squid writes its reasons to cache.log). */
  readonly moreLogs?: readonly string[];
}

/** Starts a process group, waits (bounded) until its port accepts connections, and returns its stop(). */
export async function spawnService(options: SpawnServiceOptions): Promise<Service> {
  const fd = openSync(options.log, 'a');
  const child = spawn(
    'timeout',
    ['-k', '5', String(HARD_LIMIT_S), 'sh', '-c', LIFELINE, 'lifeline', options.command, ...options.args],
    {
      detached: true,
      stdio: ['pipe', fd, fd],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    },
  );
  closeSync(fd);
  running.add(child);
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `exit code ${code}`;
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      exited = error.message;
      running.delete(child);
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exit;
    clearTimeout(timer);
    // helpers (squid's certgen) may outlive their parent by a moment; the group is ours alone
    killGroup(child, 'SIGKILL');
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20000);
  while (!(await portOpen(options.port))) {
    if (exited !== undefined || Date.now() > deadline) {
      const why =
        exited !== undefined
          ? `exited (${exited})`
          : `did not listen on 127.0.0.1:${options.port} within ${options.readyTimeoutMs ?? 20000} ms`;
      await stop();
      const tails = [options.log, ...(options.moreLogs ?? [])]
        .map((l) => `last lines of ${l}:\n${logTail(l)}`)
        .join('\n');
      throw new Error(`${options.name} ${why}; ${tails}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: options.url, port: options.port, log: options.log, stop };
}

/** Polls `check` until it holds or `timeoutMs` passes (proxies write their logs a moment after a client exits). */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
