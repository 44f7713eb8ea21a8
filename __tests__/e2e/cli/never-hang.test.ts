/**
 * Issue 11, points 1 and 3 at the CLI: `org-ca env --dir /proc/x` used to spin at 100 % CPU forever; every path from
 * the user or the environment now fails fast with one line, and a relative --dir prints absolute paths. The mount
 * cases run in a private mount namespace (unshare -m), so nothing is left mounted on the machine.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDist } from '../../support/inspection/index.js';
import { mintRoot } from '../../support/pki.js';

let cliScript: string;
/**
 * How long `org-ca --version` takes here: start-up alone, which a loaded machine stretches. The bound is two
 * start-ups plus one second (room for a loaded machine; the guarded walk itself starts only a shell, see
 * src/fs/ensure-directory.ts); a spin would be killed at 20 s instead.
 */
let startupMs: number;
let dir: string;
let caFile: string;

beforeAll(async () => {
  cliScript = join(await buildDist(['cli']), 'cli', 'index.js');
  dir = mkdtempSync(join(tmpdir(), 'org-ca-never-hang-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, mintRoot({ cn: 'Never Hang Root', org: 'Example Org' }).certPem);
  const started = Date.now();
  spawnSync(process.execPath, [cliScript, '--version']);
  startupMs = Date.now() - started;
}, 300000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), TMPDIR: join(dir, 'tmp'), ...extra };
}

function cli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): SpawnSyncReturns<string> & { ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cliScript, ...args], {
    encoding: 'utf8',
    env: env(options.env),
    cwd: options.cwd ?? dir,
    timeout: 20000,
    killSignal: 'SIGKILL',
  });
  return { ...r, ms: Date.now() - started };
}

test.each([['/proc/x'], ['/proc/self/fd/x/y'], ['/sys/x']])(
  'env --dir %s exits 2 (an input error) within a second of start-up, saying why',
  (path) => {
    const r = cli(['env', '--ca', caFile, '--dir', path]);
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }).toEqual({ status: 2, signal: null, stdout: '' });
    expect(r.stderr).toMatch(
      new RegExp(
        `^org-ca env: --dir '${path}': '/(proc|sys)[^']*' is on (proc|sysfs), a kernel pseudo file system where no file can be created; expected a directory on a real file system\\.\\n$`,
      ),
    );
    expect(r.ms - 2 * startupMs).toBeLessThan(1000);
  },
);

test('XDG_CACHE_HOME under /proc: the default --dir is guarded too', () => {
  const r = cli(['env', '--ca', caFile], { env: { XDG_CACHE_HOME: '/proc/x' } });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^org-ca env: --dir '\/proc\/x\/org-ca\/[0-9a-f]{16}': '\/proc' is on proc/);
});

test('exec with TMPDIR under /proc exits 2 at once and never runs the command', () => {
  const r = cli(['exec', '--ca', caFile, '--', 'sh', '-c', 'echo RAN'], { env: { TMPDIR: '/proc/x' } });
  expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 2, stdout: '' });
  expect(r.stderr).toMatch(/^org-ca exec: TMPDIR '\/proc\/x': '\/proc' is on proc/);
  expect(r.ms - 2 * startupMs).toBeLessThan(1000);
});

test('env --dir with a dangling link fails in one line naming the link', () => {
  const link = join(dir, 'dangling');
  spawnSync('ln', ['-s', join(dir, 'nowhere', 'deeper'), link]);
  const r = cli(['env', '--ca', caFile, '--dir', join(link, 'x')]);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(
    `org-ca env: --dir '${join(link, 'x')}': '${link}' is a dangling symbolic link (to '${join(dir, 'nowhere', 'deeper')}', which does not exist); expected a directory.\n`,
  );
});

test('env --dir some/relative/dir prints absolute paths', () => {
  const cwd = join(dir, 'project');
  mkdirSync(cwd, { recursive: true });
  const r = cli(['env', '--ca', caFile, '--dir', 'some/relative/dir', '--format', 'dotenv'], { cwd });
  expect(r.status).toBe(0);
  const values = r.stdout
    .trim()
    .split('\n')
    .map((line) => line.slice(line.indexOf('=') + 1).replace(/^"(.*)"$/, '$1'));
  const paths = values.filter((v) => v.includes('some/relative/dir'));
  expect(paths.length).toBeGreaterThan(5);
  for (const value of paths) expect(value).toContain(join(cwd, 'some/relative/dir'));
  expect(r.stdout).toContain(`NODE_EXTRA_CA_CERTS="${join(cwd, 'some/relative/dir', 'org-ca.pem')}"`);
});

/** Runs a shell script as root in a private mount namespace (mounts vanish with it). */
function inMountNamespace(script: string, timeoutMs = 60000): SpawnSyncReturns<string> {
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    encoding: 'utf8',
    env: env({ NODE: process.execPath, CLI: cliScript, CA: caFile }),
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
}

const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

(canMount ? test : test.skip)('a read-only mount: exit 2, EROFS named, at once', () => {
  const mnt = join(dir, 'ro');
  mkdirSync(mnt, { recursive: true });
  const r = inMountNamespace(
    `mount -t tmpfs -o ro tmpfs '${mnt}' && "$NODE" "$CLI" env --ca "$CA" --dir '${mnt}/x'; echo "status=$?"`,
  );
  expect(r.stdout).toContain('status=2');
  expect(r.stderr).toBe(
    `org-ca env: --dir '${mnt}/x': cannot create '${mnt}/x' (EROFS: read-only file system); expected a writable directory.\n`,
  );
});

const hasFuse = canMount && spawnSync('sh', ['-c', 'command -v fuse-overlayfs && test -c /dev/fuse']).status === 0;

(hasFuse ? test : test.skip)('a hung mount (its FUSE daemon stopped): exit 2 within the 5 s bound, not a hang', () => {
  const base = join(dir, 'fuse');
  for (const d of ['lower', 'upper', 'work', 'mnt']) mkdirSync(join(base, d), { recursive: true });
  // The daemon is stopped, so every look inside the mount blocks in the kernel; it is killed (by its PID) at the end.
  const script = `
    fuse-overlayfs -f -o lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work ${base}/mnt 2>/dev/null &
    daemon=$!
    i=0; until grep -q ' ${base}/mnt ' /proc/self/mounts || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -STOP $daemon
    start=$(date +%s%N)
    "$NODE" "$CLI" env --ca "$CA" --dir ${base}/mnt/x/y
    echo "status=$? ms=$(( ($(date +%s%N) - start) / 1000000 ))"
    kill -KILL $daemon
  `;
  const r = inMountNamespace(script, 40000);
  expect(r.signal).toBeNull();
  expect(r.stdout).toMatch(/status=2 ms=\d+/);
  const ms = Number(/ms=(\d+)/.exec(r.stdout)![1]);
  expect(ms - startupMs).toBeLessThan(5000 + 2000);
  expect(r.stderr).toMatch(
    new RegExp(
      `^org-ca env: --dir '${base}/mnt/x/y': '${base}/mnt(/x)?' did not answer within 5 s: a hung or stale mount\\? Expected a local, writable directory\\.\\n$`,
    ),
  );
});
