/** Starts the lab's upstream and its inspection proxies: real mitmdump and real squid (ssl-bump), loopback only. */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabPki } from './lab-pki.js';
import { freePort, spawnService, type Service } from './procs.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export interface Upstream extends Service {
  /** https://127.0.0.1:PORT/repo.git — a bare repository with one commit holding README.txt. */
  readonly gitUrl: string;
  readonly readme: string;
}

const README_TEXT = 'hello from the lab upstream\n';

function makeRepository(gitRoot: string): void {
  const work = join(gitRoot, 'work');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'lab',
    GIT_AUTHOR_EMAIL: 'lab@example.invalid',
    GIT_COMMITTER_NAME: 'lab',
    GIT_COMMITTER_EMAIL: 'lab@example.invalid',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  mkdirSync(work, { recursive: true });
  const git = (cwd: string, ...args: string[]): void => {
    execFileSync('git', args, { cwd, env, stdio: 'pipe' });
  };
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'README.txt'), README_TEXT);
  git(work, 'add', 'README.txt');
  git(work, 'commit', '-q', '-m', 'lab commit');
  git(gitRoot, 'clone', '-q', '--bare', work, 'repo.git');
  // Dumb HTTP needs info/refs and objects/info/packs, which update-server-info writes.
  git(join(gitRoot, 'repo.git'), 'update-server-info');
}

/** The upstream signed by the lab's public root, or (`server`) another loopback HTTPS server with its own key pair. */
export async function startUpstream(
  pki: LabPki,
  dir: string,
  server?: { name: string; cert: string; key: string },
): Promise<Upstream> {
  const name = server?.name ?? 'upstream';
  const gitRoot = join(dir, server ? `git-${name}` : 'git');
  mkdirSync(gitRoot, { recursive: true });
  makeRepository(gitRoot);
  const port = await freePort();
  const service = await spawnService({
    name,
    command: process.execPath,
    args: [
      join(HERE, 'upstream-server.mjs'),
      String(port),
      server?.cert ?? pki.paths.upstreamCert,
      server?.key ?? pki.paths.upstreamKey,
      gitRoot,
    ],
    port,
    log: join(dir, `${name}.log`),
    url: `https://127.0.0.1:${port}/`,
  });
  return { ...service, gitUrl: `https://127.0.0.1:${port}/repo.git`, readme: README_TEXT };
}

export interface Proxy extends Service {
  /** What issues the certificates this proxy presents. */
  readonly kind: 'mitmproxy' | 'squid';
  /** For a proxy with basic auth, the URL with credentials (url has none). */
  readonly authUrl?: string;
  readonly credentials?: { readonly user: string; readonly password: string };
  /** The proxy's log so far: mitmdump's flow lines, squid's access.log. */
  accessLog(): string;
  /** Whether the proxy logged a request for an upstream URL containing `marker` (a ClientResult's marker). */
  saw(marker: string): boolean;
  /** How many client connections (mitmproxy) or CONNECT tunnels (squid) the proxy has logged so far. */
  tunnels(): number;
}

/** mitmdump re-signing with the CA in `confdir` (mitmproxy-ca.pem) and verifying upstreams against `upstreamCa`. */
export async function startMitmproxy(options: {
  name: string;
  confdir: string;
  upstreamCa: string;
  dir: string;
}): Promise<Proxy> {
  const port = await freePort();
  const log = join(options.dir, `${options.name}.log`);
  const service = await spawnService({
    name: options.name,
    command: 'mitmdump',
    args: [
      '--mode',
      'regular',
      '--listen-host',
      '127.0.0.1',
      '--listen-port',
      String(port),
      '--set',
      `confdir=${options.confdir}`,
      '--set',
      `ssl_verify_upstream_trusted_ca=${options.upstreamCa}`,
      '--set',
      'flow_detail=1',
    ],
    port,
    log,
    url: `http://127.0.0.1:${port}`,
    // mitmdump writes its flow lines to stdout, which Python buffers when it is not a terminal
    env: { ...process.env, PYTHONUNBUFFERED: '1', HOME: options.dir },
  });
  const accessLog = (): string => readFileSync(log, 'utf8');
  // flow_detail=1 lines: "127.0.0.1:PORT: GET https://127.0.0.1:UPSTREAM/?via=node" — requests inside the tunnel
  return {
    ...service,
    kind: 'mitmproxy',
    accessLog,
    saw: (marker) =>
      accessLog()
        .split('\n')
        .some((l) => / (GET|HEAD|POST) https:\/\//.test(l) && l.includes(marker)),
    // mitmdump prints one "client connect" line per CONNECT tunnel
    tunnels: () => (accessLog().match(/: client connect$/gm) ?? []).length,
  };
}

function proxyUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'proxy']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * squid ssl-bump re-signing with the org issuing intermediate. tls-cert holds intermediate + root, and squid sends
 * the chain after the signing certificate, so clients see leaf → intermediate → root (SELF_SIGNED_CERT_IN_CHAIN).
 */
export async function startSquid(options: {
  name: string;
  pki: LabPki;
  dir: string;
  basicAuth?: { user: string; password: string };
}): Promise<Proxy> {
  const dir = join(options.dir, options.name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const ssldb = join(dir, 'ssl_db');
  execFileSync('/usr/lib/squid/security_file_certgen', ['-c', '-s', ssldb, '-M', '4MB'], { stdio: 'pipe' });
  const lines = [
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    'cache deny all',
    // full URLs in access.log, so a test can find the marker each client puts in its query
    'strip_query_terms off',
    'cache_mem 8 MB',
    'shutdown_lifetime 0 seconds',
    'dns_v4_first on',
    `http_port 127.0.0.1:${port} ssl-bump tls-cert=${options.pki.paths.squidCert} tls-key=${options.pki.paths.squidKey} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB`,
    `sslcrtd_program /usr/lib/squid/security_file_certgen -s ${ssldb} -M 4MB`,
    'sslcrtd_children 3 startup=1 idle=1',
    'acl step1 at_step SslBump1',
    'ssl_bump peek step1',
    'ssl_bump bump all',
    // The upstream is signed by the lab's public root, which squid must trust to re-sign on behalf of it.
    `tls_outgoing_options cafile=${options.pki.paths.publicRoot}`,
    'acl loopback src 127.0.0.1/32',
  ];
  if (options.basicAuth) {
    const hash = execFileSync('openssl', ['passwd', '-apr1', options.basicAuth.password]).toString().trim();
    writeFileSync(join(dir, 'htpasswd'), `${options.basicAuth.user}:${hash}\n`);
    lines.push(
      `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/htpasswd`,
      'auth_param basic children 2 startup=1 idle=1',
      'auth_param basic realm lab-proxy',
      'acl authenticated proxy_auth REQUIRED',
      'http_access deny !loopback',
      'http_access allow authenticated',
      'http_access deny all',
    );
  } else {
    lines.push('http_access allow loopback', 'http_access deny all');
  }
  const conf = join(dir, 'squid.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  // squid started as root switches to the `proxy` user, which must reach and own its own files
  const { uid, gid } = proxyUser();
  for (const d of [options.dir, options.pki.dir]) chmodSync(d, 0o755);
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
  chownSync(dir, uid, gid);
  const log = join(dir, 'squid.out');
  const service = await spawnService({
    name: options.name,
    command: 'squid',
    args: ['-N', '-f', conf],
    port,
    log,
    url: `http://127.0.0.1:${port}`,
    moreLogs: [join(dir, 'cache.log')],
  });
  const cacheLog = join(dir, 'cache.log');
  const accessLog = (): string => {
    try {
      return readFileSync(join(dir, 'access.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const auth = options.basicAuth;
  return {
    ...service,
    kind: 'squid',
    ...(auth
      ? {
          authUrl: `http://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}`,
          credentials: auth,
        }
      : {}),
    accessLog,
    // bumped requests are logged with their https:// URL; the tunnel itself as CONNECT host:port
    saw: (marker) =>
      accessLog()
        .split('\n')
        .some((l) => / (GET|HEAD|POST) https:\/\//.test(l) && l.includes(marker)),
    // squid logs a tunnel when it ends, a moment after the client has gone: poll with waitFor()
    tunnels: () => (accessLog().match(/ CONNECT /g) ?? []).length,
    // the start error already quotes squid.out; cache.log is where squid says why it stopped later
    log: cacheLog,
  };
}
