/**
 * `org-ca runner install` on a runner directory, then jobs started through the runner's hook contract: the runner's
 * environment (its .env, RUNNER_TEMP, GITHUB_ENV, RUNNER_ENVIRONMENT, the proxy) and `bash -e <hook>`, with no `uses:`
 * step. Real clients then verify through mitmdump and squid, on the host and in a real job container (Docker Engine,
 * the runner's mounts reproduced); a foreign intercepting CA fails the job; org-ca's own failure does not; the files
 * go at job end; uninstall leaves the runner directory byte-identical.
 */
import { jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseFileCommands,
  runClients,
  useInspectionLab,
  type ClientName,
  type Proxy,
} from '../../support/inspection/index.js';
import { ensureRootfsImage, startDockerd, type Dockerd } from '../../support/dockerd.js';
import { defaultHooksDir } from '../../../src/runner/install.js';
import { certificateFromDer } from '../../../src/ca/certificate.js';
import { olderNode } from '../../support/older-node.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
const lab = useInspectionLab({ mitmproxy: true, squid: true, foreign: true });
// A job runs the hook, probes and four clients; on a loaded machine that can take over a minute.
jest.setTimeout(180_000);

/** Every file and directory under dir: path → type, mode and content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const path = join(dir, rel);
    const st = lstatSync(path);
    if (st.isDirectory()) {
      out[rel || '.'] = `dir ${st.mode.toString(8)}`;
      for (const name of readdirSync(path).sort()) walk(join(rel, name));
    } else {
      out[rel] = `file ${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

/** A runner directory as `config.sh` leaves it: .runner, run.sh, an .env of the admin's (CRLF, no final new line). */
function makeRunnerDir(name: string): string {
  const dir = join(lab().dir, name);
  mkdirSync(join(dir, '_work', '_temp'), { recursive: true });
  mkdirSync(join(dir, '_work', 'repo', 'repo'), { recursive: true });
  writeFileSync(join(dir, '.runner'), JSON.stringify({ agentName: name, workFolder: '_work' }));
  writeFileSync(join(dir, 'run.sh'), '#!/bin/bash\nexec ./bin/Runner.Listener run "$@"\n', { mode: 0o755 });
  writeFileSync(join(dir, '.env'), 'LANG=C.UTF-8\r\n# set by the platform team\r\nJAVA_HOME=/usr/lib/jvm/default-java');
  return dir;
}

function orgCa(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH, HOME: lab().dir },
    timeout: 60_000,
  });
}

function install(runnerDir: string, extra: string[] = []) {
  const { pki } = lab();
  return orgCa(
    [
      'runner',
      'install',
      '--runner-dir',
      runnerDir,
      '--ca',
      '-',
      '--probe-urls',
      lab().upstream.url,
      '--probe-timeout',
      '10s',
      '--cache-ttl',
      '10m',
      ...extra,
    ],
    pki.orgCa.certPem + pki.orgRoot.certPem,
  );
}

/** The runner's .env as the runner reads it at start: NAME=value lines into its own environment. */
function runnerEnv(runnerDir: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(runnerDir, '.env'), 'utf8')
      .split(/\r?\n/)
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

interface Job {
  readonly code: number | null;
  readonly stdout: string;
  readonly vars: Record<string, string>;
  readonly env: Record<string, string>;
  completed(): Promise<{ code: number | null; stdout: string }>;
}

function bash(
  script: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', script], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

let jobs = 0;
/** Starts a job the way the runner does: its environment, `bash -e` on the job-started hook from .env. */
async function startJob(runnerDir: string, proxy: Proxy): Promise<Job> {
  const fileCommands = join(lab().dir, `job-${++jobs}`);
  mkdirSync(fileCommands);
  const githubEnv = join(fileCommands, 'set_env');
  writeFileSync(githubEnv, '');
  const fromDotEnv = runnerEnv(runnerDir);
  const workspace = join(runnerDir, '_work', 'repo', 'repo');
  const env = lab().jobEnv({
    ...fromDotEnv,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ENV: githubEnv,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: join(runnerDir, '_work', '_temp'),
    RUNNER_ENVIRONMENT: 'self-hosted',
    HTTPS_PROXY: proxy.url,
    https_proxy: proxy.url,
  });
  const started = await bash(fromDotEnv.ACTIONS_RUNNER_HOOK_JOB_STARTED!, env, workspace);
  return {
    ...started,
    vars: parseFileCommands(readFileSync(githubEnv, 'utf8')),
    env,
    completed: () => bash(fromDotEnv.ACTIONS_RUNNER_HOOK_JOB_COMPLETED!, env, workspace),
  };
}

const HOST_CLIENTS: readonly ClientName[] = ['node', 'python', 'curl', 'git'];

describe('host jobs', () => {
  let runnerDir: string;
  let before: Record<string, string>;

  beforeAll(() => {
    runnerDir = makeRunnerDir('actions-runner');
    before = snapshot(runnerDir);
  });

  test('install adds the two hook lines to .env, keeps every other byte, and puts the hooks outside the runner directory', () => {
    const r = install(runnerDir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const env = readFileSync(join(runnerDir, '.env'), 'utf8');
    const hooksDir = defaultHooksDir(runnerDir);
    expect(env).toBe(
      `LANG=C.UTF-8\r\n# set by the platform team\r\nJAVA_HOME=/usr/lib/jvm/default-java\r\nACTIONS_RUNNER_HOOK_JOB_STARTED=${hooksDir}/job-started.sh\r\nACTIONS_RUNNER_HOOK_JOB_COMPLETED=${hooksDir}/job-completed.sh\r\n`,
    );
    expect(readdirSync(hooksDir).sort()).toEqual([
      'config.json',
      'install.json',
      'job-completed.sh',
      'job-started.sh',
      'org-ca.pem',
    ]);
    expect(r.stdout).toMatch(/Restart the runner service/);
  });

  test('a second install is refused while the first is in place', () => {
    const r = install(runnerDir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^org-ca runner: org-ca hooks are already installed in '.*': run 'org-ca runner uninstall' first\.$/m,
    );
  });

  test.each(['mitmproxy', 'squid'] as const)(
    'through %s, with no uses: step, node, python, curl and git verify; job end removes the files',
    async (name) => {
      const proxy = lab()[name]!;
      const job = await startJob(runnerDir, proxy);
      expect(`exit ${job.code}: ${job.stdout}`).toMatch(/^exit 0: /);
      expect(job.stdout).toMatch(/TLS inspection seen on 1 of 1 probe/);
      const temp = join(runnerDir, '_work', '_temp', 'org-ca-hook');
      // A NODE_EXTRA_CA_CERTS the job already had (this machine sets one) is kept: merged into a file of its own.
      expect(job.vars.NODE_EXTRA_CA_CERTS).toBe(
        join(temp, job.env.NODE_EXTRA_CA_CERTS ? 'node_extra_ca_certs.pem' : 'org-ca.pem'),
      );
      expect(job.vars.SSL_CERT_FILE).toBe(join(temp, 'ca-bundle.pem'));

      const results = await runClients(HOST_CLIENTS, {
        env: { ...job.env, ...job.vars },
        proxy: proxy.url,
        upstream: lab().upstream.url,
        workDir: lab().scratch(`host-${name}`),
        tag: `h${name.slice(0, 2)}`,
      });
      for (const client of HOST_CLIENTS) {
        expect(`${client}: ${results[client].ok ? 'ok' : results[client].output.slice(-300)}`).toBe(`${client}: ok`);
        expect(`${client} seen by ${name}: ${proxy.saw(results[client].marker)}`).toBe(
          `${client} seen by ${name}: true`,
        );
      }

      const done = await job.completed();
      expect(done.code).toBe(0);
      expect(existsSync(temp)).toBe(false);
    },
  );

  test('the next job on the runner reuses the cached verdict', async () => {
    const job = await startJob(runnerDir, lab().mitmproxy!);
    expect(job.code).toBe(0);
    expect(job.stdout).toMatch(/probe verdict from \d+ s ago reused \(cache 600 s\)/);
    expect(job.vars).toHaveProperty('NODE_EXTRA_CA_CERTS');
    await job.completed();
  });

  test('a foreign intercepting CA fails the job before it runs, and sets nothing', async () => {
    const job = await startJob(runnerDir, lab().foreign!);
    expect(job.code).toBe(1);
    // A CA was given at install: another signer is ca-mismatch, naming both.
    expect(job.stdout).toMatch(
      /::error::org-ca: TLS inspection by a CA other than the one given: .*Foreign Appliance CA.*the CA given is 'CN=Example Org Inspection CA/,
    );
    expect(job.vars).toEqual({});
    await job.completed();
  });

  test("org-ca's own failure (its config gone) is a warning: the job runs, without the CA", async () => {
    const config = join(defaultHooksDir(runnerDir), 'config.json');
    renameSync(config, `${config}.away`);
    try {
      const job = await startJob(runnerDir, lab().squid!);
      expect(job.code).toBe(0);
      expect(job.stdout).toMatch(/::warning::org-ca: --config '.*config\.json' could not be read \(ENOENT\)/);
      expect(job.stdout).toMatch(
        /::warning::org-ca job-started hook: org-ca failed \(exit 1\); the job continues without the org CA\./,
      );
      expect(job.vars).toEqual({});
    } finally {
      renameSync(`${config}.away`, config);
    }
  });

  test('uninstall leaves the runner directory byte-identical and removes the hooks', () => {
    const r = orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]);
    expect(r.status).toBe(0);
    expect(snapshot(runnerDir)).toEqual(before);
    expect(existsSync(defaultHooksDir(runnerDir))).toBe(false);
  });
});

describe('runner install takes the CA as every command does: --ca FILE (or -), pinned with --fingerprint', () => {
  test.each([
    ['--ca FILE', (ca: string) => ['--ca', ca]],
    [
      '--ca-file FILE (the older spelling) with a matching --fingerprint',
      (ca: string, fp: string) => ['--ca-file', ca, '--fingerprint', fp],
    ],
  ])('%s installs; uninstall restores the runner directory', (_name, flags) => {
    const runnerDir = makeRunnerDir(`actions-runner-flags-${Math.random().toString(16).slice(2, 8)}`);
    const before = snapshot(runnerDir);
    const { pki } = lab();
    const r = orgCa([
      'runner',
      'install',
      '--runner-dir',
      runnerDir,
      ...flags(pki.paths.orgCa, certificateFromDer(pki.orgCa.der).fingerprint),
    ]);
    expect(`${r.status} ${r.stderr}`).toBe('0 ');
    expect(readFileSync(join(defaultHooksDir(runnerDir), 'org-ca.pem'), 'utf8')).toContain(
      pki.orgCa.certPem.trim().split('\n')[1],
    );
    expect(orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]).status).toBe(0);
    expect(snapshot(runnerDir)).toEqual(before);
  });

  test.each([
    [
      'a pin that does not match',
      (ca: string) => ['--ca', ca, '--fingerprint', 'ab'.repeat(32)],
      /^org-ca runner: .*fingerprint/i,
    ],
    [
      'the CA given twice',
      (ca: string) => ['--ca', ca, '--ca-file', ca],
      /^org-ca runner: runner install: give the CA once: --ca FILE/,
    ],
    ['no CA', () => [], /^org-ca runner: runner install: --ca FILE is required/],
    [
      'the certificate text instead of a path',
      () => ['--ca', '-----BEGIN CERTIFICATE-----\nMII'],
      /^org-ca runner: --ca takes a path, not the certificate text: use '--ca -'/,
    ],
  ])('%s: exit 2, one line, nothing written', (_name, flags, message) => {
    const runnerDir = makeRunnerDir(`actions-runner-refused-${Math.random().toString(16).slice(2, 8)}`);
    const before = snapshot(runnerDir);
    const r = orgCa(['runner', 'install', '--runner-dir', runnerDir, ...flags(lab().pki.paths.orgCa)]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(snapshot(runnerDir)).toEqual(before);
    expect(existsSync(defaultHooksDir(runnerDir))).toBe(false);
  });
});

const oldNode = olderNode(['/usr/bin/node', '/usr/local/bin/node']);

describe('the Node the hooks run', () => {
  test("the runner's own externals/node24/bin/node is what the hooks run", () => {
    const runnerDir = makeRunnerDir(`actions-runner-node-${Math.random().toString(16).slice(2, 8)}`);
    const runnerNode = join(runnerDir, 'externals', 'node24', 'bin', 'node');
    mkdirSync(dirname(runnerNode), { recursive: true });
    symlinkSync(process.execPath, runnerNode);
    expect(install(runnerDir).status).toBe(0);
    try {
      expect(readFileSync(join(defaultHooksDir(runnerDir), 'job-started.sh'), 'utf8')).toContain(`'${runnerNode}' `);
    } finally {
      expect(orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]).status).toBe(0);
    }
  });

  (oldNode ? test : test.skip)(
    'a Node older than 24 there: each job start says so in the job log, and the job runs without the CA',
    async () => {
      const runnerDir = makeRunnerDir(`actions-runner-old-node-${Math.random().toString(16).slice(2, 8)}`);
      const runnerNode = join(runnerDir, 'externals', 'node24', 'bin', 'node');
      mkdirSync(dirname(runnerNode), { recursive: true });
      symlinkSync(oldNode!, runnerNode);
      expect(install(runnerDir).status).toBe(0);
      try {
        const job = await startJob(runnerDir, lab().mitmproxy!);
        expect(job.code).toBe(0);
        // stdout and stderr together, as the job log shows them
        expect(job.stdout).toMatch(/org-ca needs Node 24 or later; this is v\d+\.\d+\.\d+/);
        expect(job.stdout).toMatch(
          /^::warning::org-ca job-started hook: org-ca failed \(exit 2\); the job continues without the org CA\.$/m,
        );
        expect(job.vars).toEqual({});
      } finally {
        expect(orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]).status).toBe(0);
      }
    },
  );
});

describe('container jobs (Docker Engine, the runner mounts reproduced)', () => {
  let runnerDir: string;
  let before: Record<string, string>;
  let dockerd: Dockerd;
  let image: string;

  beforeAll(async () => {
    runnerDir = makeRunnerDir('actions-runner-containers');
    before = snapshot(runnerDir);
    dockerd = await startDockerd(join(lab().dir, 'dockerd'));
    image = await ensureRootfsImage(dockerd);
  }, 900_000);
  afterAll(async () => {
    await dockerd?.stop();
  }, 60_000);

  test.each(['mitmproxy', 'squid'] as const)(
    'through %s: curl, python3 and Node 24 in the job container verify with /__w/_temp paths',
    async (name) => {
      if (!existsSync(defaultHooksDir(runnerDir)))
        expect(install(runnerDir, ['--job-paths', 'container']).status).toBe(0);
      const proxy = lab()[name]!;
      const job = await startJob(runnerDir, proxy);
      expect(`exit ${job.code}: ${job.stdout}`).toMatch(/^exit 0: /);
      expect(job.vars.NODE_EXTRA_CA_CERTS).toBe(
        `/__w/_temp/org-ca-hook/${job.env.NODE_EXTRA_CA_CERTS ? 'node_extra_ca_certs.pem' : 'org-ca.pem'}`,
      );
      expect(job.vars.JAVA_TOOL_OPTIONS).toContain('-Djavax.net.ssl.trustStore=/__w/_temp/org-ca-hook/truststore.jks');

      // As the runner creates a job container: _work at /__w, _temp at /__w/_temp, externals (its node) at /__e.
      const node24 = dirname(dirname(process.execPath));
      const tag = `ctr-${name}`;
      const url = lab().upstream.url;
      const script = [
        `curl -sS --max-time 20 '${url}?via=curl-${tag}'`,
        `python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode().strip())' '${url}?via=python-${tag}'`,
        `NODE_USE_ENV_PROXY=1 /__e/node24/bin/node -e 'fetch(process.argv[1]).then(async (r) => console.log((await r.text()).trim()), (e) => { console.error(String(e.cause ?? e)); process.exit(1); })' '${url}?via=node-${tag}'`,
      ].join(' && ');
      const envArgs = Object.entries({ ...job.vars, HTTPS_PROXY: proxy.url, https_proxy: proxy.url }).flatMap(
        ([k, v]) => ['-e', `${k}=${v}`],
      );
      const r = await dockerd.docker([
        'run',
        '--rm',
        '--network',
        'host',
        '-v',
        `${join(runnerDir, '_work')}:/__w`,
        '-v',
        `${join(runnerDir, '_work', '_temp')}:/__w/_temp`,
        '-v',
        `${node24}:/__e/node24:ro`,
        '--workdir',
        '/__w/repo/repo',
        ...envArgs,
        image,
        'sh',
        '-ec',
        script,
      ]);
      expect(`exit ${r.code}: ${r.stderr}`).toBe('exit 0: ');
      expect(r.stdout.trim().split('\n')).toEqual(['upstream-ok', 'upstream-ok', 'upstream-ok']);
      for (const client of ['curl', 'python', 'node']) expect(proxy.saw(`via=${client}-${tag}`)).toBe(true);

      const done = await job.completed();
      expect(done.code).toBe(0);
      expect(existsSync(join(runnerDir, '_work', '_temp', 'org-ca-hook'))).toBe(false);
    },
    300_000,
  );

  test('without the hook the same container command fails (the hook is what made it work)', async () => {
    const proxy = lab().mitmproxy!;
    const r = await dockerd.docker([
      'run',
      '--rm',
      '--network',
      'host',
      '-e',
      `HTTPS_PROXY=${proxy.url}`,
      image,
      'curl',
      '-sS',
      '--max-time',
      '20',
      lab().upstream.url,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SSL certificate problem/);
  });

  test('uninstall leaves this runner directory byte-identical too', () => {
    expect(orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]).status).toBe(0);
    expect(snapshot(runnerDir)).toEqual(before);
  });
});
