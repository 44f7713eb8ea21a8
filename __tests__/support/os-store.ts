/**
 * A private OS trust store for one process tree: `unshare --mount` gives the child its own mount namespace, where a
 * bind mount over /etc/ssl/certs shows a bundle of the test's making. The machine's own store is never touched, and the
 * mount disappears with the namespace when the child exits.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OS_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** A directory to mount over /etc/ssl/certs: the machine's bundle plus `extraPems`, as update-ca-certificates builds it. */
export function makeStoreDir(dir: string, extraPems: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca-certificates.crt'), readFileSync(OS_BUNDLE, 'utf8') + extraPems.join(''));
  return dir;
}

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs argv with `storeDir` mounted over /etc/ssl/certs in a private mount namespace (root only). */
export function runWithStore(
  storeDir: string,
  argv: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Ran> {
  const wrapper = [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount --bind "$0" /etc/ssl/certs && exec "$@"',
    storeDir,
    ...argv,
  ];
  return run('unshare', wrapper, env, timeoutMs);
}

export function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}\n${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
