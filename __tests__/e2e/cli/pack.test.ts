/**
 * The package as users get it: `npm pack` of a copy of the package with the CLI bundle of the current sources,
 * installed from the tarball alone (offline, nothing else to fetch) into an empty directory and globally into a
 * prefix, then run on Node 24. dist/ of the worktree is not touched: the bundle comes from buildDist.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { REPO_ROOT, buildDist } from '../../support/inspection/action-runner.js';
import { runCli } from '../../support/cli.js';
import { mintRoot } from '../../support/pki.js';
import { freePort } from '../../support/inspection/procs.js';
import { olderNode } from '../../support/older-node.js';

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly files: readonly string[];
  readonly bin: Record<string, string>;
  readonly engines: Record<string, string>;
  readonly dependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
let work: string;
let tarball: string;
let packed: string[];
/** Node 24 first on PATH, so `#!/usr/bin/env node` in npm and in bin/org-ca.js both start Node 24. */
let env: NodeJS.ProcessEnv;

function npm(args: readonly string[], cwd: string): string {
  return execFileSync('npm', [...args], {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-pack-'));
  env = {
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
    HOME: work,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  // The package as it would be published: its own files, and dist/ freshly built from the current sources.
  const stage = join(work, 'stage');
  mkdirSync(stage);
  for (const name of ['package.json', 'README.md', 'LICENSE', 'bin'])
    cpSync(join(REPO_ROOT, name), join(stage, name), { recursive: true });
  cpSync(await buildDist(['cli', 'leak-worker']), join(stage, 'dist'), { recursive: true });
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], stage)) as [
    { filename: string; files: { path: string }[] },
  ];
  tarball = join(work, info.filename);
  packed = info.files.map((f) => f.path).sort();
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('package.json is publishable: not private, a bin, Node 24 engines, no runtime dependency (ncc bundles them)', () => {
  expect(pkg.private).toBeUndefined();
  expect(pkg.bin).toEqual({ 'org-ca': 'bin/org-ca.js' });
  expect(pkg.engines.node).toBe('>=24');
  expect(pkg.dependencies ?? {}).toEqual({});
});

test('the tarball holds what runs and nothing else: bin/, the CLI bundle and its leak-check worker, README, package.json', () => {
  expect(packed).toContain('bin/org-ca.js');
  expect(packed).toContain('dist/cli/index.js');
  // Without it the installed CLI would scan every layer on one thread.
  expect(packed).toContain('dist/leak-worker/index.js');
  // The in-build helper, for `org-ca build-context` in CI systems other than Actions.
  expect(packed).toContain('dist/build-context/with-org-ca');
  expect(packed).toContain('package.json');
  expect(packed).toContain('README.md');
  expect(packed).toContain('LICENSE');
  const unexpected = packed.filter(
    (p) => !/^(bin\/|dist\/cli\/|dist\/leak-worker\/|dist\/build-context\/|package\.json$|README\.md$|LICENSE)/.test(p),
  );
  expect(unexpected).toEqual([]);
});

test('installed from the tarball alone into an empty directory (offline), `org-ca` runs on Node 24', async () => {
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  // nothing but org-ca itself came in
  expect(readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['org-ca']);
  const bin = join(app, 'node_modules', '.bin', 'org-ca');
  const version = execFileSync(bin, ['--version'], { env, encoding: 'utf8' });
  expect(version).toBe(`${pkg.version}\n`);
  const help = await runCli(bin, ['env', '--help'], { env, cwd: app });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: org-ca env --ca FILE/);
  expect(help.stderr).toBe('');
}, 180_000);

test('the installed package writes a build context: the helper it ships runs a command with the CA, and the flags name it', async () => {
  const app = join(work, 'app-build-context');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  const ca = mintRoot({ cn: 'Pack Build Context Root', org: 'Pack Org' });
  writeFileSync(join(app, 'ca.pem'), ca.certPem);
  const out = join(app, 'out');
  const bin = join(app, 'node_modules', '.bin', 'org-ca');
  const r = await runCli(bin, ['build-context', '--dir', out, '--ca', join(app, 'ca.pem'), '--json'], {
    env,
    cwd: app,
  });
  expect(r.status).toBe(0);
  const written = JSON.parse(r.stdout) as { helperDir: string; caPath: string; dockerFlags: string };
  expect(written.helperDir).toBe(join(out, 'org-ca-build-context'));
  expect(written.dockerFlags).toContain(`--secret id=org_ca,src=${written.caPath}`);
  expect(written.dockerFlags).toContain(`--build-context org-ca=${written.helperDir}`);
  expect(r.stdout).not.toContain(ca.certPem.split('\n')[1]!);
  // The helper as a build would run it, with the secret where BuildKit would mount it (ORG_CA_SECRET here).
  const helper = spawnSync('dash', [join(written.helperDir, 'with-org-ca'), 'sh', '-c', 'cat "$SSL_CERT_FILE"'], {
    env: { ...env, ORG_CA_SECRET: written.caPath, TMPDIR: app },
    encoding: 'utf8',
  });
  expect(helper.status).toBe(0);
  expect(helper.stdout).toContain(ca.certPem.split('\n')[1]!);
}, 180_000);

test('a global install (npm install -g) puts org-ca on PATH', () => {
  const prefix = join(work, 'global');
  npm(['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], work);
  const out = execFileSync('org-ca', ['--version'], {
    env: { ...env, PATH: `${join(prefix, 'bin')}${delimiter}${env.PATH}` },
    encoding: 'utf8',
    cwd: work,
  });
  expect(out).toBe(`${pkg.version}\n`);
}, 180_000);

describe('published to a real npm registry (Verdaccio on loopback), then run with npx from an empty directory', () => {
  let verdaccio: ChildProcess | undefined;
  let registry: string;
  let userconfig: string;
  const npx = (args: readonly string[], cwd: string, path = env.PATH) =>
    spawnSync('npx', ['--yes', ...args], {
      cwd,
      env: { ...env, PATH: path, npm_config_userconfig: userconfig, npm_config_registry: registry },
      encoding: 'utf8',
      timeout: 180_000,
    });

  beforeAll(async () => {
    const home = join(work, 'verdaccio');
    mkdirSync(home);
    const port = await freePort();
    registry = `http://127.0.0.1:${port}/`;
    // No uplinks: nothing is fetched from anywhere but this registry.
    writeFileSync(
      join(home, 'config.yaml'),
      [
        `storage: ${join(home, 'storage')}`,
        'auth:',
        '  htpasswd:',
        `    file: ${join(home, 'htpasswd')}`,
        '    max_users: 10',
        'uplinks: {}',
        'packages:',
        "  '**':",
        '    access: $all',
        '    publish: $authenticated',
        'log: { type: stdout, format: json, level: warn }',
        '',
      ].join('\n'),
    );
    const bin = join(REPO_ROOT, 'node_modules', 'verdaccio', 'bin', 'verdaccio');
    verdaccio = spawn(process.execPath, [bin, '--config', join(home, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await fetch(`${registry}-/ping`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline || verdaccio.exitCode !== null)
        throw new Error(`verdaccio did not start on ${registry}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const user = await fetch(`${registry}-/user/org.couchdb.user:release`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'release', password: 'release-password-1' }),
    });
    const { token } = (await user.json()) as { token: string };
    userconfig = join(home, 'npmrc');
    writeFileSync(userconfig, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    npm(['publish', tarball, '--registry', registry, '--userconfig', userconfig], work);
  }, 180_000);

  afterAll(() => {
    verdaccio?.kill('SIGTERM');
  });

  test('npx org-ca@VERSION --version and detect run on Node 24 from an empty directory', () => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const version = npx([`org-ca@${pkg.version}`, '--version'], empty);
    expect(`${version.status} ${version.stdout}`).toBe(`0 ${pkg.version}\n`);
    // A refused loopback port: detect runs, probes, reports unreachable (exit 1), and says why.
    const detect = npx([`org-ca@${pkg.version}`, 'detect', 'https://127.0.0.1:9/', '--timeout', '2s'], empty);
    expect(detect.status).toBe(1);
    expect(detect.stdout).toMatch(
      /^https:\/\/127\.0\.0\.1:9\/ {2}UNREACHABLE .*\n {2}refused: 127\.0\.0\.1:9 refused the connection/,
    );
    expect(readdirSync(empty)).toEqual([]);
  }, 240_000);

  const old = olderNode(['/usr/bin/node', '/usr/local/bin/node']);
  (old ? test : test.skip)(
    'on the machine’s older Node, the same npx says in one line that Node 24 is needed, exit 2',
    () => {
      const empty = mkdtempSync(join(work, 'empty-old-'));
      const r = npx([`org-ca@${pkg.version}`, '--version'], empty, `${dirname(old!)}${delimiter}${process.env.PATH}`);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^org-ca: org-ca needs Node 24 or later; this is v\d+\./m);
    },
    240_000,
  );
});
