/**
 * The CLI as engineers run it: the bundle of the current sources on Node 24, as separate processes.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry } from '../../support/cli.js';
import { mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

let BIN: string;
let dir: string;
let tmp: string;
let root: Issued;
let caFile: string;
let keyFile: string;

beforeAll(async () => {
  BIN = await cliEntry();
  dir = mkdtempSync(join(tmpdir(), 'org-ca-cli-'));
  tmp = join(dir, 'tmp');
  spawnSync('mkdir', ['-p', tmp]);
  root = mintRoot({ cn: 'CLI Test Org Root', org: 'CLI Org' });
  caFile = join(dir, 'ca.pem');
  keyFile = join(dir, 'ca.key');
  writeFileSync(caFile, root.certPem);
  writeFileSync(keyFile, root.keyPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), TMPDIR: tmp, ...env },
    timeout: 30_000,
  });
}

const keyBody = (): string => root.keyPem.split('\n')[3]!;
const certBody = (): string => root.certPem.split('\n')[3]!;

describe('usage', () => {
  test.each(['env', 'exec'])('%s --help exits 0 with its usage', (command) => {
    const r = cli([command, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: org-ca ${command} `));
  });

  test.each<[string[], RegExp]>([
    [[], /^org-ca: trust the org TLS-inspection CA/],
    [['frob'], /^org-ca: unknown command 'frob'\. Expected one of: env, exec/],
    [['env', '--bogus'], /^org-ca env: Unknown option '--bogus'/],
    [['env'], /^org-ca env: --ca FILE is required/],
    [
      ['env', '--ca', 'x', '--format', 'xml'],
      /^org-ca env: Invalid --format 'xml'\. Expected one of: sh, powershell, dotenv, github, gitlab, azure, buildkite, circleci, jenkins\.$/m,
    ],
    [['env', '--ca', 'x', '--tools', 'gradle'], /^org-ca env: --tools: unknown tool 'gradle'/],
    [['exec', '--ca', 'x'], /^org-ca exec: no command given/],
  ])('%j is a usage error (exit 2)', (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('org-ca env', () => {
  test('sh output, evaluated by a real shell, points every tool at files that exist', () => {
    const r = cli(['env', '--ca', caFile]);
    expect(r.status).toBe(0);
    const shell = spawnSync(
      'sh',
      ['-c', `${r.stdout}\nprintf '%s\\n' "$NODE_EXTRA_CA_CERTS" "$SSL_CERT_FILE" "$JAVA_TOOL_OPTIONS" "$WGETRC"`],
      { encoding: 'utf8' },
    );
    const [extra, bundle, java, wgetrc] = shell.stdout.trim().split('\n');
    expect(readFileSync(extra!, 'utf8')).toBe(root.certPem);
    expect(readFileSync(bundle!, 'utf8')).toContain(root.certPem.split('\n')[1]);
    expect(readFileSync(bundle!, 'utf8').match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(100);
    expect(java).toMatch(/-Djavax\.net\.ssl\.trustStore=\S+truststore\.jks/);
    expect(readFileSync(wgetrc!, 'utf8')).toContain(`ca_certificate = ${bundle}`);
    expect(r.stdout).not.toContain(certBody());
  });

  test.each<[string, RegExp]>([
    ['powershell', /^\$env:NODE_EXTRA_CA_CERTS = '.+org-ca\.pem'$/m],
    ['dotenv', /^NODE_EXTRA_CA_CERTS=".+org-ca\.pem"$/m],
    // a heredoc with a random delimiter per value (src/output/file-commands.ts)
    ['github', /^NODE_EXTRA_CA_CERTS<<ghadelimiter_[0-9a-f-]{36}\n.+org-ca\.pem\nghadelimiter_[0-9a-f-]{36}$/m],
  ])('--format %s', (format, line) => {
    const r = cli(['env', '--ca', caFile, '--format', format, '--tools', 'node']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(line);
  });

  test('reads the CA from standard input with --ca -', () => {
    const r = spawnSync(process.execPath, [BIN, 'env', '--ca', '-', '--tools', 'git'], {
      input: Buffer.from(root.certPem).toString('base64'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^export GIT_SSL_CAINFO='.+ca-bundle\.pem'$/m);
  });

  test('a private key fails with one line, exit 2 (input error), and no part of the key anywhere', () => {
    const r = cli(['env', '--ca', keyFile]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/contains a private key; it was not used and is not shown/);
    expect(r.stderr).not.toContain(keyBody());
  });

  test('a server certificate is refused as not a CA', () => {
    const leafFile = join(dir, 'leaf.pem');
    writeFileSync(leafFile, mintLeaf(root, { cn: 'www.example' }).certPem);
    const r = cli(['env', '--ca', leafFile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^org-ca env: Certificate 'CN=www\.example' .* is not a CA/);
  });

  test('a missing file is named', () => {
    const r = cli(['env', '--ca', join(dir, 'nope.pem')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^org-ca env: --ca '.*nope\.pem' could not be read \(ENOENT\)/);
  });

  test('verification switched off fails unless downgraded to a warning', () => {
    const off = cli(['env', '--ca', caFile], { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    expect(off.status).toBe(1);
    expect(off.stderr).toMatch(/TLS verification is switched off \(NODE_TLS_REJECT_UNAUTHORIZED=0 in environment\)/);
    const warned = cli(['env', '--ca', caFile, '--on-verification-off', 'warn'], { NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    expect(warned.status).toBe(0);
    expect(warned.stderr).toMatch(/TLS verification is switched off by NODE_TLS_REJECT_UNAUTHORIZED=0/);
  });
});

describe('org-ca exec', () => {
  const leftovers = (): string[] => readdirSync(tmp).filter((n) => n.startsWith('org-ca-exec-'));

  test('the command sees the variables and the files; its exit status is passed on; files are gone after', () => {
    const r = cli([
      'exec',
      '--ca',
      caFile,
      '--',
      'sh',
      '-c',
      'test -s "$NODE_EXTRA_CA_CERTS" && test -s "$SSL_CERT_FILE" && echo "$REQUESTS_CA_BUNDLE"; exit 7',
    ]);
    expect(r.status).toBe(7);
    const bundle = r.stdout.trim();
    expect(bundle).toMatch(/org-ca-exec-\w+\/ca-bundle\.pem$/);
    expect(existsSync(bundle)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  test('a real OpenSSL client verifies a chain from the org CA only with exec', () => {
    const leaf = mintLeaf(root, { cn: 'svc.example' });
    const leafFile = join(dir, 'svc.pem');
    writeFileSync(leafFile, leaf.certPem);
    // openssl verify reads SSL_CERT_FILE like every OpenSSL-based client: the bundle exec points it at
    const without = spawnSync('openssl', ['verify', leafFile], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(without.status).not.toBe(0);
    const withCa = cli(['exec', '--ca', caFile, '--', 'openssl', 'verify', leafFile]);
    expect(withCa.stdout).toMatch(/svc\.pem: OK/);
    expect(withCa.status).toBe(0);
  });

  test('killed by a signal: 128+N, and the files are removed', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'exec', '--ca', caFile, '--', 'sh', '-c', 'echo "$SSL_CERT_FILE"; exec sleep 30'],
      {
        env: { PATH: process.env.PATH, HOME: dir, TMPDIR: tmp },
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (out.includes('ca-bundle.pem')) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    expect(existsSync(out.trim())).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(143);
    expect(existsSync(out.trim())).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  test('a command that does not exist fails with its name, exit 127 as in sh, and leaves nothing', () => {
    const r = cli(['exec', '--ca', caFile, '--', 'no-such-command-xyz']);
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/^org-ca exec: command not found: 'no-such-command-xyz'$/m);
    expect(leftovers()).toEqual([]);
  });
});
