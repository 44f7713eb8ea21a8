/**
 * Real clients, each run as its own process with a given environment and proxy: Node 24 fetch, Python urllib, curl,
 * git, wget, Java HttpClient and npm. Each request carries a marker unique to the run (`via=<client>-<tag>`, or a tagged path) so a
 * test can find it in the proxy's log: proof that the client really went through the proxy.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export const CLIENT_NAMES = ['node', 'python', 'curl', 'git', 'wget', 'java', 'npm', 'perl'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];
/** Clients that cannot go through the lab's proxies (see wget2Client): run against a server the org CA signs. */
export type DirectClientName = 'wget2';

export interface ClientRequest {
  /** The whole environment of the client process (use jobEnv() as a base). Proxy variables are added from `proxy`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** http://[user:pass@]127.0.0.1:PORT, or undefined for a direct connection. */
  readonly proxy?: string;
  /** https://127.0.0.1:PORT/ of the upstream. */
  readonly upstream: string;
  /** A scratch directory (git clones into it, npm caches in it). */
  readonly workDir: string;
  readonly timeoutMs?: number;
  /** Makes this run's requests unique in the proxy's log (default: random). */
  readonly tag?: string;
}

export interface ClientResult {
  readonly client: ClientName | DirectClientName;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout + stderr, for matching error texts. */
  readonly output: string;
  /** What the client asked the upstream for: find it in the proxy's log. */
  readonly marker: string;
}

interface Spawned {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<Spawned> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[lab: killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: null, stdout, stderr: `${stderr}\n[lab: ${error.message}]` });
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/**
 * The environment a job on this machine would have: the machine's own variables (its CA settings count), without
 * proxy settings, runner or jest variables, and with a fresh HOME so a developer's dotfiles do not change results.
 */
export function jobEnv(home: string, extra: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/proxy/i.test(k) || /^(JEST_|INPUT_|STATE_|GITHUB_|RUNNER_|NODE_OPTIONS$|NODE_ENV$|npm_)/i.test(k)) continue;
    env[k] = v;
  }
  mkdirSync(home, { recursive: true });
  env.HOME = home;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function withProxy(
  env: Readonly<Record<string, string | undefined>>,
  proxy: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  if (proxy) {
    // Both spellings: wget and git/curl read https_proxy; Node, npm and Python take either.
    out.HTTPS_PROXY = proxy;
    out.https_proxy = proxy;
    // No client bypasses 127.0.0.1 unless told to (Java's default does: see javaClient), so NO_PROXY stays unset.
    delete out.NO_PROXY;
    delete out.no_proxy;
  }
  return out;
}

let pythonPath: string | undefined;
/** The real interpreter behind a pyenv shim: shims need the real HOME, which jobEnv replaces. */
function python(): string {
  pythonPath ??= execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
  return pythonPath;
}

let javaClasses: string | undefined;
/**
 * Compiles Client.java once, into a directory keyed by its hash that later runs reuse (a single-file launch would
 * recompile on every run, ~1 s each).
 */
function javaClassDir(): string {
  if (!javaClasses) {
    const source = join(HERE, 'Client.java');
    const dir = join(
      tmpdir(),
      `org-ca-java-client-${createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12)}`,
    );
    if (!existsSync(join(dir, 'Client.class'))) {
      const staging = mkdtempSync(`${dir}.staging-`);
      execFileSync('javac', ['-d', staging, source], { stdio: 'pipe' });
      try {
        renameSync(staging, dir);
      } catch {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    javaClasses = dir;
  }
  return javaClasses;
}

function result(client: ClientName | DirectClientName, marker: string, s: Spawned, ok: boolean): ClientResult {
  return {
    client,
    ok,
    exitCode: s.exitCode,
    stdout: s.stdout,
    stderr: s.stderr,
    output: `${s.stdout}\n${s.stderr}`,
    marker,
  };
}

type ClientFn = (request: ClientRequest) => Promise<ClientResult>;

const NODE_FETCH = `
const url = process.argv[1];
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(20000) });
  console.log(response.status, (await response.text()).trim());
  process.exit(response.status === 200 ? 0 : 3);
} catch (error) {
  console.error(String(error));
  for (let c = error.cause; c; c = c.cause) console.error('cause:', c.code ?? '', String(c));
  process.exit(1);
}`;

const PYTHON_URLLIB = `
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
        print(r.status, r.read().decode().strip())
        sys.exit(0 if r.status == 200 else 3)
except Exception as e:
    print(repr(e), file=sys.stderr)
    sys.exit(1)
`;

const upstreamBody = (s: Spawned): boolean => s.exitCode === 0 && s.stdout.includes('upstream-ok');

// LWP::UserAgent with LWP::Protocol::https (Debian libwww-perl + liblwp-protocol-https-perl); env_proxy reads
// https_proxy, and LWP ≥6.06 tunnels https through it with CONNECT.
const PERL_LWP = `
use strict; use LWP::UserAgent;
my $ua = LWP::UserAgent->new(timeout => 20);
$ua->env_proxy;
my $r = $ua->get($ARGV[0]);
print $r->status_line, "\n", $r->decoded_content;
exit($r->code == 200 ? 0 : 1);
`;

/**
 * wget2, run without a proxy: Debian's wget2 1.99 cannot tunnel https through an http proxy (it starts TLS with the
 * proxy itself; squid logs "400 error:invalid-request"), so its proof is a loopback server whose certificate the
 * org CA signs. Same request shape as the other clients.
 */
export async function wget2Client(r: Omit<ClientRequest, 'proxy'>): Promise<ClientResult> {
  const marker = `via=wget2-${tagOf(r)}`;
  const url = `${r.upstream}?${marker}`;
  const s = await run(
    'wget2',
    ['--tries=1', '--timeout=20', '--no-robots', '-O', '-', url],
    withProxy(r.env, undefined),
    r.workDir,
    r.timeoutMs ?? 30000,
  );
  return result('wget2', marker, s, upstreamBody(s));
}

export const CLIENTS: Readonly<Record<ClientName, ClientFn>> = {
  async node(r) {
    const marker = `via=node-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    // NODE_USE_ENV_PROXY=1 makes Node 24's fetch honour HTTPS_PROXY/NO_PROXY (nodejs.org/api/cli.html#node_use_env_proxy1).
    const env = { ...withProxy(r.env, r.proxy), NODE_USE_ENV_PROXY: '1' };
    const s = await run(
      process.execPath,
      ['--input-type=module', '-e', NODE_FETCH, url],
      env,
      r.workDir,
      r.timeoutMs ?? 30000,
    );
    return result('node', marker, s, upstreamBody(s));
  },
  async python(r) {
    const marker = `via=python-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    const s = await run(
      python(),
      ['-c', PYTHON_URLLIB, url],
      withProxy(r.env, r.proxy),
      r.workDir,
      r.timeoutMs ?? 30000,
    );
    return result('python', marker, s, upstreamBody(s));
  },
  async curl(r) {
    const marker = `via=curl-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    const s = await run(
      'curl',
      ['-sS', '--max-time', '20', url],
      withProxy(r.env, r.proxy),
      r.workDir,
      r.timeoutMs ?? 30000,
    );
    return result('curl', marker, s, upstreamBody(s));
  },
  async git(r) {
    const dest = mkdtempSync(join(r.workDir, 'clone-'));
    const env = { ...withProxy(r.env, r.proxy), GIT_TERMINAL_PROMPT: '0' };
    const marker = `/t/${tagOf(r)}/repo.git/info/refs`;
    const s = await run(
      'git',
      ['clone', `${r.upstream}t/${tagOf(r)}/repo.git`, join(dest, 'repo')],
      env,
      r.workDir,
      r.timeoutMs ?? 30000,
    );
    const readme = join(dest, 'repo', 'README.txt');
    const ok = s.exitCode === 0 && existsSync(readme) && readFileSync(readme, 'utf8').includes('lab upstream');
    return result('git', marker, s, ok);
  },
  async wget(r) {
    const marker = `via=wget-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    // -nv keeps error lines (-q would hide the certificate error); --tries=1: no retry loop on a refused handshake.
    const s = await run(
      'wget',
      ['-nv', '--tries=1', '--timeout=20', '-O', '-', url],
      withProxy(r.env, r.proxy),
      r.workDir,
      r.timeoutMs ?? 30000,
    );
    return result('wget', marker, s, upstreamBody(s));
  },
  async java(r) {
    const marker = `via=java-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    const args = ['-cp', javaClassDir()];
    if (r.proxy) {
      // Java ignores the proxy variables, and its default http.nonProxyHosts (localhost|127.*|[::1]) bypasses the
      // proxy for the loopback upstream. OpenJDK 17's DefaultProxySelector appends that default to any non-empty
      // value (measured: "lab.invalid" still went DIRECT for 127.0.0.1), so only an empty value switches it off.
      const p = new URL(r.proxy);
      args.push(`-Dhttps.proxyHost=${p.hostname}`, `-Dhttps.proxyPort=${p.port}`, '-Dhttp.nonProxyHosts=');
      if (p.username) {
        // Basic is disabled for HTTPS tunnels by default (jdk.http.auth.tunneling.disabledSchemes=Basic).
        args.push(
          '-Djdk.http.auth.tunneling.disabledSchemes=',
          `-Dlab.proxyUser=${decodeURIComponent(p.username)}`,
          `-Dlab.proxyPassword=${decodeURIComponent(p.password)}`,
        );
      }
    }
    args.push('Client', url);
    const s = await run('java', args, withProxy(r.env, r.proxy), r.workDir, r.timeoutMs ?? 45000);
    return result('java', marker, s, upstreamBody(s));
  },
  async perl(r) {
    const marker = `via=perl-${tagOf(r)}`;
    const url = `${r.upstream}?${marker}`;
    const s = await run('perl', ['-e', PERL_LWP, url], withProxy(r.env, r.proxy), r.workDir, r.timeoutMs ?? 30000);
    return result('perl', marker, s, upstreamBody(s));
  },
  async npm(r) {
    const cache = mkdtempSync(join(r.workDir, 'npm-cache-'));
    const pkg = `lab-npm-probe-${tagOf(r)}`;
    // npm takes https-proxy from HTTPS_PROXY and noproxy from NO_PROXY (docs.npmjs.com/cli/using-npm/config#https-proxy).
    const s = await run(
      'npm',
      [
        'view',
        pkg,
        '--registry',
        r.upstream,
        '--cache',
        cache,
        '--fetch-retries=0',
        '--prefer-online',
        '--no-update-notifier',
      ],
      withProxy(r.env, r.proxy),
      r.workDir,
      r.timeoutMs ?? 45000,
    );
    // The upstream is not a registry: a 404 from it means TLS through the proxy worked.
    const ok = /\bE404\b/.test(s.stdout + s.stderr) && (s.stdout + s.stderr).includes(pkg);
    return result('npm', `/${pkg}`, s, ok);
  },
};

const tags = new WeakMap<ClientRequest, string>();
function tagOf(r: ClientRequest): string {
  if (r.tag) return r.tag;
  let tag = tags.get(r);
  if (!tag) tags.set(r, (tag = randomBytes(4).toString('hex')));
  return tag;
}

export async function runClients(
  names: readonly ClientName[],
  request: ClientRequest,
): Promise<Record<ClientName, ClientResult>> {
  const results = await Promise.all(names.map((name) => CLIENTS[name](request)));
  return Object.fromEntries(results.map((r) => [r.client, r])) as Record<ClientName, ClientResult>;
}
