/**
 * A real container registry lab on loopback: Debian's docker-registry (CNCF distribution) serving TLS with a
 * certificate from the lab's "public" root, optionally with htpasswd basic auth; images pushed with umoci + skopeo;
 * a Docker-Hub-like redirecting front; and a real Docker Engine (Debian docker.io) started as root.
 *
 * Names: Go clients (dockerd, buildah) never send 127.0.0.1 or `localhost` through HTTPS_PROXY, so the registry is
 * addressed as `vm`, which /etc/hosts maps to 127.0.0.1 on these machines; the proxy resolves it to loopback. The
 * redirect target is `runsc` (also 127.0.0.1 there), so that it is a different host for every builder's trust lookup.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { withHostLock } from '../../../src/fs/host-lock.js';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mintLeaf } from '../pki.js';
import type { LabPki } from '../inspection/lab-pki.js';
import { runAction, type ActionRun, type Lab } from '../inspection/index.js';
import { freePort, spawnService, type Service } from '../inspection/procs.js';
import { deferred } from '../deferred.js';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));

export const REGISTRY_NAME = 'vm';
export const CDN_NAME = 'runsc';

/** Whether the loopback names this lab needs resolve to 127.0.0.1 here. */
export function loopbackNamesResolve(): boolean {
  const hosts = existsSync('/etc/hosts') ? readFileSync('/etc/hosts', 'utf8') : '';
  return [REGISTRY_NAME, CDN_NAME].every((name) => new RegExp(`^127\\.0\\.0\\.1\\s.*\\b${name}\\b`, 'm').test(hosts));
}

export interface RegistryTls {
  readonly cert: string;
  readonly key: string;
  /** A directory with the public root as ca.crt, for skopeo --dest-cert-dir. */
  readonly certDir: string;
  readonly publicRoot: string;
}

/** A leaf for `vm` and `runsc` from the lab's public root: what a real registry on the internet presents. */
export function writeRegistryTls(pki: LabPki, dir: string): RegistryTls {
  mkdirSync(dir, { recursive: true });
  const leaf = mintLeaf(pki.publicRoot, { cn: REGISTRY_NAME, dnsNames: [REGISTRY_NAME, CDN_NAME] });
  const cert = join(dir, 'registry.pem');
  const key = join(dir, 'registry-key.pem');
  writeFileSync(cert, leaf.certPem);
  writeFileSync(key, leaf.keyPem);
  const certDir = join(dir, 'skopeo-certs');
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, 'ca.crt'), pki.publicRoot.certPem);
  return { cert, key, certDir, publicRoot: pki.paths.publicRoot };
}

export interface Registry extends Service {
  /** `vm:PORT`: how clients name it (and its certs.d directory). */
  readonly host: string;
  readonly credentials?: { readonly user: string; readonly password: string };
}

export async function startRegistry(options: {
  name: string;
  dir: string;
  tls: RegistryTls;
  basicAuth?: { user: string; password: string };
}): Promise<Registry> {
  const dir = join(options.dir, options.name);
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  tls:',
    `    certificate: ${options.tls.cert}`,
    `    key: ${options.tls.key}`,
  ];
  if (options.basicAuth) {
    const htpasswd = join(dir, 'htpasswd');
    // distribution accepts bcrypt entries only
    execFileSync('htpasswd', ['-Bbc', htpasswd, options.basicAuth.user, options.basicAuth.password], { stdio: 'pipe' });
    lines.push('auth:', '  htpasswd:', '    realm: lab-registry', `    path: ${htpasswd}`);
  }
  const config = join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const service = await spawnService({
    name: options.name,
    command: 'docker-registry',
    args: ['serve', config],
    port,
    log: join(dir, 'registry.log'),
    url: `https://${REGISTRY_NAME}:${port}`,
  });
  return {
    ...service,
    host: `${REGISTRY_NAME}:${port}`,
    ...(options.basicAuth ? { credentials: options.basicAuth } : {}),
  };
}

/**
 * Pushes a small image (one layer: /hello.txt holding `text`) as HOST/REPO:TAG with umoci and skopeo, trusting the
 * registry's public root directly (no proxy): the setup, not the thing under test.
 */
export async function pushImage(
  registry: Registry,
  tls: RegistryTls,
  work: string,
  repoTag: string,
  text: string,
): Promise<void> {
  const slug = `${registry.host}-${repoTag}`.replace(/[^a-z0-9]/gi, '-');
  const layout = join(work, `layout-${slug}`);
  const content = join(work, `content-${slug}`);
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'hello.txt'), text);
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:img`]);
  await run('umoci', ['insert', '--image', `${layout}:img`, content, '/']);
  const creds = registry.credentials
    ? ['--dest-creds', `${registry.credentials.user}:${registry.credentials.password}`]
    : [];
  await run(
    'skopeo',
    [
      'copy',
      '--quiet',
      '--dest-cert-dir',
      tls.certDir,
      ...creds,
      `oci:${layout}:img`,
      `docker://${registry.host}/${repoTag}`,
    ],
    { env: { PATH: process.env.PATH ?? '' } },
  );
}

export interface RedirectingFront extends Service {
  readonly host: string;
  /** The CDN host blobs are redirected to: `runsc:PORT`. */
  readonly cdnHost: string;
  redirects(): number;
  cdnGets(): number;
}

/** Like Docker Hub: manifests from the front, every blob GET answered with a 307 to another host. */
export async function startRedirectingFront(
  registry: Registry,
  tls: RegistryTls,
  dir: string,
): Promise<RedirectingFront> {
  const [port, cdnPort] = [await freePort(), await freePort()];
  const log = join(dir, 'front.log');
  const service = await spawnService({
    name: 'redirecting-front',
    command: process.execPath,
    args: [
      join(HERE, 'redirecting-front.mjs'),
      String(port),
      String(cdnPort),
      CDN_NAME,
      tls.cert,
      tls.key,
      registry.url,
      tls.publicRoot,
    ],
    port,
    log,
    url: `https://${REGISTRY_NAME}:${port}`,
  });
  const count = (re: RegExp): number => (readFileSync(log, 'utf8').match(re) ?? []).length;
  return {
    ...service,
    host: `${REGISTRY_NAME}:${port}`,
    cdnHost: `${CDN_NAME}:${cdnPort}`,
    redirects: () => count(/^front REDIRECT /gm),
    cdnGets: () => count(/^cdn GET \/v2\/.*\/blobs\//gm),
  };
}

/** Every path under the given roots with its type, mode and content: compared before and after the action ran. */
export function treeSnapshot(roots: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) {
      out[p] = 'absent';
      return;
    }
    if (st.isDirectory()) {
      out[p] = `dir ${(st.mode & 0o7777).toString(8)}`;
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else {
      out[p] = `file ${(st.mode & 0o7777).toString(8)} ${readFileSync(p).toString('base64')}`;
    }
  };
  for (const root of roots) walk(root);
  return out;
}

/** The lock every suite that changes the host's certs.d directories holds for each test (they compare whole trees). */
const HOST_TRUST_LOCK = '/tmp/org-ca-tests-host-trust.flock';

/**
 * Waits for, then takes, the machine-wide lock on the trust directories: the product's own flock(1) lock, which dies
 * with its holder. Jest runs suites in parallel workers: without it one suite's action run shows up in another's
 * before/after comparison. Returns the release.
 */
export async function holdHostTrust(timeoutMs = 600000): Promise<() => void> {
  const released = deferred();
  const taken = deferred();
  const holding = withHostLock(
    HOST_TRUST_LOCK,
    () => {
      taken.resolve();
      return released.promise;
    },
    (why) => {
      throw new Error(`the tests need flock(1): ${why}`);
    },
    { timeoutMs },
  );
  await Promise.race([taken.promise, holding]);
  return released.resolve;
}

/**
 * For a suite whose tests run the action against the host's certs.d: each test holds the host-trust lock, and a main
 * step whose post step did not run (a test that failed half-way) is undone before the lock is released. Returns the
 * set to add such main runs to (and to delete them from once their post step ran).
 */
export function useHostTrust(): Set<ActionRun> {
  const pending = new Set<ActionRun>();
  let release: (() => void) | undefined;
  beforeEach(async () => {
    release = await holdHostTrust();
  }, 660000);
  afterEach(async () => {
    try {
      for (const main of pending)
        await runAction('post', { state: main.state, runnerTemp: main.runnerTemp, timeoutMs: 60000 });
    } finally {
      pending.clear();
      release?.();
      release = undefined;
    }
  }, 120000);
  return pending;
}

/** The paths that differ between two snapshots (never their content: the CA is no secret, but it is long). */
export function changedPaths(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((p) => before[p] !== after[p]).sort();
}

export interface DockerEngine {
  readonly socket: string;
  readonly log: string;
  /** `docker -H unix://SOCK ARGS`, with DOCKER_BUILDKIT=1 and the given DOCKER_CONFIG; never throws. */
  docker(
    args: readonly string[],
    options?: { dockerConfig?: string; timeoutMs?: number },
  ): Promise<{ code: number; output: string }>;
  /** Stops the daemon (SIGTERM to the PID in its pidfile, bounded) and starts it again with the same environment. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The Debian docker CLI (20.10): /usr/local/bin/docker here is a 28.x client without buildx. */
const DOCKER_CLI = '/usr/bin/docker';

/**
 * A real dockerd as root with its own data root, exec root, socket and pidfile, no iptables and no bridge (builds
 * use --network host). `env` is the daemon's own environment: dockerd pulls through HTTPS_PROXY from there.
 */
export async function startDockerd(dir: string, env: Readonly<Record<string, string>>): Promise<DockerEngine> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const pidfile = join(dir, 'docker.pid');
  const log = join(dir, 'dockerd.log');
  let child: ChildProcess | undefined;
  const docker: DockerEngine['docker'] = (args, options = {}) =>
    new Promise((resolve) => {
      const p = spawn(DOCKER_CLI, ['-H', `unix://${socket}`, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          DOCKER_BUILDKIT: '1',
          HOME: dir,
          ...(options.dockerConfig ? { DOCKER_CONFIG: options.dockerConfig } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: options.timeoutMs ?? 120000,
        killSignal: 'SIGKILL',
      });
      let output = '';
      p.stdout.on('data', (d: Buffer) => (output += d.toString()));
      p.stderr.on('data', (d: Buffer) => (output += d.toString()));
      p.on('close', (code) => resolve({ code: code ?? -1, output }));
    });
  const start = async (): Promise<void> => {
    const out = openSync(log, 'a');
    child = spawn(
      'timeout',
      [
        '-k',
        '5',
        '900',
        'dockerd',
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '-H',
        `unix://${socket}`,
        '--pidfile',
        pidfile,
        '--storage-driver',
        'overlay2',
        '--iptables=false',
        '--bridge=none',
      ],
      { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', out, out], detached: true },
    );
    const deadline = Date.now() + 60000;
    for (;;) {
      if ((await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0) return;
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(
          `dockerd did not answer on ${socket}; last lines of ${log}:\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : undefined;
    try {
      if (pid) process.kill(pid, 'SIGTERM');
      else process.kill(-c.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 20000);
    await exited;
    clearTimeout(timer);
    try {
      // dockerd's containerd child may linger a moment; the group is ours alone
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  };
  await start();
  return {
    socket,
    log,
    docker,
    async restart() {
      await stop();
      await start();
    },
    stop,
  };
}

/** A docker CLI config directory with basic-auth credentials for one registry (what `docker login` would store). */
export function writeDockerConfig(dir: string, registry: Registry): string {
  mkdirSync(dir, { recursive: true });
  const auths: Record<string, { auth: string }> = {};
  if (registry.credentials)
    auths[registry.host] = {
      auth: Buffer.from(`${registry.credentials.user}:${registry.credentials.password}`).toString('base64'),
    };
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths }, null, 2));
  return dir;
}

/** A registry front that corrupts or cuts every blob it serves (see tamper-front.mjs). */
export async function startTamperFront(
  registry: Registry,
  tls: RegistryTls,
  dir: string,
  mode: 'corrupt' | 'drop',
  minBytes = 0,
): Promise<Service & { host: string }> {
  const port = await freePort();
  const service = await spawnService({
    name: `tamper-${mode}`,
    command: process.execPath,
    args: [
      join(HERE, 'tamper-front.mjs'),
      String(port),
      mode,
      tls.cert,
      tls.key,
      registry.url,
      tls.publicRoot,
      String(minBytes),
    ],
    port,
    log: join(dir, `tamper-${mode}.log`),
    url: `https://${REGISTRY_NAME}:${port}`,
  });
  return { ...service, host: `${REGISTRY_NAME}:${port}` };
}

/**
 * Pushes blobs and manifests with the distribution API itself (monolithic upload: POST then PUT ?digest=, then PUT
 * of each manifest by tag or digest), for shapes skopeo will not copy as they are (referrer indexes, artifacts).
 */
export async function pushRaw(
  registry: Registry,
  tls: RegistryTls,
  repository: string,
  blobs: ReadonlyMap<string, Buffer>,
  manifests: readonly { readonly reference: string; readonly bytes: Buffer; readonly mediaType: string }[],
): Promise<void> {
  const https = await import('node:https');
  const ca = readFileSync(tls.publicRoot);
  const auth = registry.credentials
    ? {
        authorization: `Basic ${Buffer.from(`${registry.credentials.user}:${registry.credentials.password}`).toString('base64')}`,
      }
    : {};
  const request = (
    method: string,
    path: string,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; location?: string; text: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        `${registry.url}${path}`,
        {
          method,
          ca,
          headers: {
            ...auth,
            ...headers,
            ...(body ? { 'content-length': String(body.length) } : { 'content-length': '0' }),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              ...(res.headers.location ? { location: res.headers.location } : {}),
              text,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (const [hex, bytes] of blobs) {
    const start = await request('POST', `/v2/${repository}/blobs/uploads/`);
    if (start.status !== 202 || !start.location)
      throw new Error(`upload start for ${repository}: ${start.status} ${start.text}`);
    const location = new URL(start.location, registry.url);
    location.searchParams.set('digest', `sha256:${hex}`);
    const put = await request('PUT', `${location.pathname}${location.search}`, bytes, {
      'content-type': 'application/octet-stream',
    });
    if (put.status !== 201) throw new Error(`blob upload sha256:${hex} to ${repository}: ${put.status} ${put.text}`);
  }
  for (const m of manifests) {
    const put = await request('PUT', `/v2/${repository}/manifests/${m.reference}`, m.bytes, {
      'content-type': m.mediaType,
    });
    if (put.status !== 201) throw new Error(`manifest ${m.reference} to ${repository}: ${put.status} ${put.text}`);
  }
}

/** The pull-side e2e's registries: one open, one behind htpasswd, and a front that redirects blobs to another host. */
export interface PullRegistries {
  readonly tls: RegistryTls;
  readonly open: Registry;
  readonly authed: Registry;
  readonly front: RedirectingFront;
}

/**
 * Starts the pull-side registries once for a test file (jest hooks), each with a `base:1` image pushed, and stops
 * them after it. The returned function gives them inside tests.
 */
export function usePullRegistries(lab: () => Lab): () => PullRegistries {
  let started: PullRegistries | undefined;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const l = lab();
    const tls = writeRegistryTls(l.pki, l.scratch('registry-tls'));
    const open = await startRegistry({ name: 'registry-open', dir: l.dir, tls });
    stops.push(() => open.stop());
    const authed = await startRegistry({
      name: 'registry-auth',
      dir: l.dir,
      tls,
      basicAuth: { user: 'pusher', password: 'push-secret' },
    });
    stops.push(() => authed.stop());
    const front = await startRedirectingFront(open, tls, l.scratch('front'));
    stops.push(() => front.stop());
    const work = l.scratch('images');
    await pushImage(open, tls, work, 'base:1', 'open base\n');
    await pushImage(authed, tls, work, 'base:1', 'authed base\n');
    started = { tls, open, authed, front };
  }, 120000);
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  }, 60000);
  return () => {
    if (!started) throw new Error('the pull registries did not start (see beforeAll)');
    return started;
  };
}
