/**
 * A local base image for real image builds, with no registry: a Debian bookworm rootfs made by debootstrap from the
 * mirror apt already uses, plus nodejs/npm from the same mirror, cached as a tar under a stable path outside the repo
 * (keyed by its inputs) so that later runs on the same machine reuse it. Buildah runs with its own --root/--runroot
 * under that cache, vfs storage and chroot isolation: no daemon, and no collision with other buildah users.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CACHE_DIR = process.env.ORG_CA_TEST_CACHE ?? '/var/cache/org-ca-test';
const SUITE = 'bookworm';
const INCLUDE = ['curl', 'ca-certificates', 'python3', 'python3-venv'];
// debootstrap cannot order npm's many node-* dependencies itself, so they come from apt inside the new rootfs.
const APT_EXTRA = ['nodejs', 'npm'];

function progress(line: string): void {
  process.stderr.write(`[base-image] ${line}\n`);
}

/** The Debian mirror apt uses here: deb822 `URIs:` or one-line `deb` entries, the first that is not -security. */
export function debianMirror(): string {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const name of readdirSync('/etc/apt/sources.list.d').sort())
      if (/\.(list|sources)$/.test(name)) files.push(join('/etc/apt/sources.list.d', name));
  }
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/.exec(line);
      if (m && /\/debian\/?$/.test(m[1]!) && !m[1]!.includes('security')) return m[1]!;
    }
  }
  throw new Error(
    `no Debian mirror found in ${files.map((f) => `'${f}'`).join(', ') || '/etc/apt'}: expected a 'deb' line or deb822 'URIs:' ending in /debian`,
  );
}

function baseKey(mirror: string): string {
  const inputs = {
    v: 1,
    suite: SUITE,
    variant: 'minbase',
    include: INCLUDE,
    aptExtra: APT_EXTRA,
    mirror,
    arch: process.arch,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 12);
}

/** Streams a long command's output as progress lines; rejects with its last lines on failure. */
function stream(command: string, args: string[], label: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const tail: string[] = [];
    let lines = 0;
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (++lines % 40 === 0) progress(`${label}: ${line.slice(0, 120)}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${label} failed (${signal ?? code}):\n${tail.join('\n')}`)),
    );
  });
}

/** The cached rootfs tar, made on first use (debootstrap: a minute or more, printed as it goes). */
export async function ensureRootfsTar(): Promise<{ tar: string; key: string }> {
  const mirror = debianMirror();
  const key = baseKey(mirror);
  const tar = join(CACHE_DIR, `bookworm-node-python-${key}.tar`);
  if (existsSync(tar)) return { tar, key };
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = join(CACHE_DIR, `work-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    progress(`creating ${tar} with debootstrap from ${mirror} (first run only; takes a few minutes)`);
    await stream(
      'debootstrap',
      ['--variant=minbase', `--include=${INCLUDE.join(',')}`, SUITE, work, mirror],
      'debootstrap',
      20 * 60000,
    );
    progress(`apt-get install ${APT_EXTRA.join(' ')} inside the new rootfs`);
    await stream(
      'chroot',
      [
        work,
        'sh',
        '-c',
        `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${APT_EXTRA.join(' ')} && apt-get clean && rm -rf /var/lib/apt/lists/*`,
      ],
      'apt-get',
      20 * 60000,
    );
    await run('tar', ['-C', work, '--numeric-owner', '-cf', `${tar}.partial`, '.'], { maxBuffer: 1 << 24 });
    renameSync(`${tar}.partial`, tar);
    progress(`cached ${tar}`);
    return { tar, key };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(`${tar}.partial`, { force: true });
  }
}

export const BUILDAH_GLOBAL = [
  '--root',
  join(CACHE_DIR, 'buildah', 'root'),
  '--runroot',
  join(CACHE_DIR, 'buildah', 'runroot'),
  '--storage-driver',
  'vfs',
];

export interface BuildahResult {
  readonly code: number;
  readonly output: string;
}

/** Runs buildah with our own store; never throws on a non-zero exit (a failing build is an expected outcome). */
export function buildah(args: readonly string[], timeoutMs = 10 * 60000): Promise<BuildahResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('buildah', [...BUILDAH_GLOBAL, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...process.env, BUILDAH_ISOLATION: 'chroot' },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

export async function mustBuildah(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await buildah(args, timeoutMs);
  if (result.code !== 0)
    throw new Error(`buildah ${args.join(' ')} failed (${result.code}):\n${result.output.slice(-3000)}`);
  return result.output;
}

async function imageExists(name: string): Promise<boolean> {
  return (await buildah(['inspect', '--type', 'image', name])).code === 0;
}

/** The base image in our buildah store, imported from the cached rootfs once. */
export async function ensureBaseImage(): Promise<string> {
  const { tar, key } = await ensureRootfsTar();
  const name = `localhost/org-ca-test-base:${key}`;
  if (await imageExists(name)) return name;
  progress(`importing ${tar} as ${name}`);
  const ctr = (await mustBuildah(['from', '--pull=never', 'scratch'])).trim().split('\n').pop()!;
  try {
    // ADD-like: buildah extracts a local tar archive into the destination.
    await mustBuildah(['add', ctr, tar, '/']);
    await mustBuildah([
      'config',
      '--env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--cmd',
      '/bin/sh',
      ctr,
    ]);
    await mustBuildah(['commit', '--rm', ctr, name]);
  } catch (error) {
    await buildah(['rm', ctr]);
    throw error;
  }
  return name;
}
