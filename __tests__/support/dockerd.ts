/**
 * A private Docker Engine (Debian docker.io 20.10) for one test file: its own socket, exec root and pid file, no
 * iptables and no bridge (containers use --network host, loopback only), stopped by PID. The data root is kept under
 * /var/cache/org-ca-test so the imported rootfs image is reused by later runs.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureRootfsTar } from '../e2e/in-build/buildah.js';

const pexec = promisify(execFile);
export const DOCKER_CLI = '/usr/bin/docker';
const DATA_ROOT = '/var/cache/org-ca-test/docker';

export interface Dockerd {
  readonly host: string;
  docker(args: readonly string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(): Promise<void>;
}

/** `dir` is the daemon's own (socket, exec root, log): removed by stop(). */
export async function startDockerd(dir: string): Promise<Dockerd> {
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const pidfile = join(dir, 'dockerd.pid');
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  mkdirSync(DATA_ROOT, { recursive: true });
  const child = spawn(
    'dockerd',
    [
      '--data-root',
      DATA_ROOT,
      '--exec-root',
      join(dir, 'exec'),
      '-H',
      `unix://${sock}`,
      '--pidfile',
      pidfile,
      '--storage-driver',
      'overlay2',
      '--iptables=false',
      '--bridge=none',
    ],
    { stdio: ['ignore', log, log] },
  );
  const host = `unix://${sock}`;
  const docker: Dockerd['docker'] = async (args, timeoutMs = 120_000) => {
    try {
      const r = await pexec(DOCKER_CLI, ['-H', host, ...args], { timeout: timeoutMs, maxBuffer: 1 << 24 });
      return { stdout: r.stdout, stderr: r.stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    // dockerd 20.10 leaves its default network namespace bind-mounted under the exec root after a clean stop.
    for (const mount of mountsUnder(dir).reverse()) execFileSync('umount', [mount]);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (existsSync(sock) && (await docker(['version', '--format', '{{.Server.Version}}'], 10_000)).code === 0)
      return { host, docker, stop };
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new Error(
    `dockerd did not start: ${readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-5).join(' / ')}`,
  );
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`));
}

/** The cached debootstrap rootfs (curl, python3, Debian's nodejs) as a Docker image, imported once. */
export async function ensureRootfsImage(d: Dockerd): Promise<string> {
  const { tar, key } = await ensureRootfsTar();
  const name = `org-ca-test-rootfs:${key}`;
  if ((await d.docker(['image', 'inspect', name], 30_000)).code === 0) return name;
  const r = await d.docker(['import', tar, name], 600_000);
  if (r.code !== 0) throw new Error(`docker import failed: ${r.stderr}`);
  return name;
}
