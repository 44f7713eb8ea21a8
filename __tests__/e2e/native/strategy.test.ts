/**
 * `--strategy native`: with the org CA in the OS store (a private mount namespace, the machine's store untouched),
 * org-ca exports only the switches that make runtimes read that store, and Node 24, Debian's python3 and Debian's
 * pip then verify through mitmdump and squid with no CA file variable at all. Without the CA in the store it falls
 * back to the file variables and says so.
 */
import { jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildDist,
  inputVariable,
  parseFileCommands,
  useInspectionLab,
  type Proxy,
} from '../../support/inspection/index.js';
import { makeStoreDir, run, runWithStore } from '../../support/os-store.js';
import { POINTER_VARIABLES } from '../../../src/ca-pointers/pointers.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
const DEBIAN_PYTHON = '/usr/bin/python3';
const lab = useInspectionLab({ mitmproxy: true, squid: true });
// Each test runs several processes in a mount namespace; on a loaded machine one can take over a minute.
jest.setTimeout(180_000);

let storeDir: string;
let caFile: string;
let work: string;
/** The job's environment with every CA file variable removed: whatever verifies here verifies through the OS store. */
let bare: Record<string, string>;

beforeAll(() => {
  const { pki } = lab();
  // mitmdump signs with the single-tier org CA, squid with an intermediate under the org root: both go in.
  const pems = [pki.orgCa.certPem, pki.orgRoot.certPem];
  storeDir = makeStoreDir(lab().scratch('os-store'), pems);
  work = lab().scratch('native');
  caFile = join(work, 'org-cas.pem');
  writeFileSync(caFile, pems.join(''));
  const strip = new Set([
    ...POINTER_VARIABLES.map((v) => v.name),
    'SSL_CERT_DIR',
    'PIP_CERT',
    'HTTPLIB2_CA_CERTS',
    'NIX_SSL_CERT_FILE',
    'WGETRC',
    'JAVA_TOOL_OPTIONS',
  ]);
  bare = Object.fromEntries(Object.entries(lab().jobEnv()).filter(([k]) => !strip.has(k)));
  bare.PIP_CONFIG_FILE = '/dev/null';
  bare.PIP_DISABLE_PIP_VERSION_CHECK = '1';
  bare.PIP_NO_CACHE_DIR = '1';
  servePackage(join(lab().dir, 'git', 'pkgs.git'));
});

/** A real wheel, served by the lab's upstream (it serves any file under <name>.git/). */
function servePackage(dir: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync(DEBIAN_PYTHON, [
    '-c',
    `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("orgca_probe/__init__.py", "")
    z.writestr("orgca_probe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: orgca-probe\\nVersion: 1.0\\n")
    z.writestr("orgca_probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: org-ca-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("orgca_probe-1.0.dist-info/RECORD", "")`,
    join(dir, 'orgca_probe-1.0-py3-none-any.whl'),
  ]);
}

function orgCa(args: string[], env: Record<string, string>, inStore: boolean) {
  const argv = [process.execPath, BIN, ...args];
  return inStore ? runWithStore(storeDir, argv, env) : run(argv[0]!, argv.slice(1), env);
}

/** Evaluates sh output of `org-ca env` and returns the variables it sets. */
function evaluated(shText: string): Record<string, string> {
  const names = [...shText.matchAll(/^export (\w+)=/gm)].map((m) => m[1]!);
  const r = spawnSync(
    'sh',
    ['-c', `${shText}\nfor n in "$@"; do printf '%s=%s\\n' "$n" "$(printenv "$n")"; done`, 'sh', ...names],
    { encoding: 'utf8' },
  );
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const NODE_FETCH = `fetch(process.argv[1], { signal: AbortSignal.timeout(20000) }).then(async (r) => { console.log(r.status, (await r.text()).trim()); }, (e) => { console.error(String(e.cause ?? e)); process.exit(1); });`;
const PY_URLLIB = `import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode().strip())`;

type Client = 'node' | 'python' | 'pip';
function clientArgv(client: Client, upstream: string, marker: string, dest: string): string[] {
  switch (client) {
    case 'node':
      return [process.execPath, '-e', NODE_FETCH, `${upstream}?${marker}`];
    case 'python':
      return [DEBIAN_PYTHON, '-c', PY_URLLIB, `${upstream}?${marker}`];
    case 'pip':
      // The marker goes into the path (/t/<tag>/ is stripped by the upstream): mitmdump shortens long query strings in its log.
      return [
        DEBIAN_PYTHON,
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--no-index',
        '-d',
        dest,
        `${upstream}t/${marker.replace(/\W/g, '-')}/pkgs.git/orgca_probe-1.0-py3-none-any.whl`,
      ];
  }
}

let nativeVariables: Record<string, string>;

describe('with the org CA in the OS store (private mount namespace)', () => {
  test('env --strategy native prints only the native switches, and no file variable', async () => {
    const r = await orgCa(['env', '--ca', caFile, '--strategy', 'native'], bare, true);
    expect(r.code).toBe(0);
    nativeVariables = evaluated(r.stdout);
    expect(nativeVariables).toEqual({
      NODE_USE_SYSTEM_CA: '1',
      DENO_TLS_CA_STORE: 'mozilla,system',
      UV_SYSTEM_CERTS: 'true',
    });
    // No pip here takes PIP_USE_FEATURE=truststore (Debian's 23.0.1 has no truststore module): it is left out, said why.
    expect(r.stderr).toMatch(/PIP_USE_FEATURE not set/);
    expect(r.stderr).not.toMatch(/falling back/);
  });

  test('the machine store itself was never changed', () => {
    expect(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')).not.toContain(
      lab().pki.orgCa.certPem.split('\n')[2]!,
    );
  });

  describe.each(['mitmproxy', 'squid'] as const)('through %s', (proxyName) => {
    const proxy = (): Proxy => lab()[proxyName]!;
    const env = (extra: Record<string, string>): Record<string, string> => ({
      ...bare,
      ...extra,
      HTTPS_PROXY: proxy().url,
      https_proxy: proxy().url,
      NODE_USE_ENV_PROXY: '1',
    });

    test.each<Client>(['node', 'python', 'pip'])(
      '%s verifies with the native switches and no file variable',
      async (client) => {
        const marker = `via=${client}-native-${proxyName}`;
        const dest = lab().scratch(`dl-${client}`);
        const r = await runWithStore(
          storeDir,
          clientArgv(client, lab().upstream.url, marker, dest),
          env(nativeVariables),
        );
        expect(`exit ${r.code}: ${r.stderr.slice(-600)}`).toMatch(/^exit 0: /);
        if (client === 'pip') expect(r.stdout).toMatch(/Saved .*orgca_probe-1\.0-py3-none-any\.whl/);
        else expect(r.stdout).toContain('upstream-ok');
        expect(proxy().saw(client === 'pip' ? `/t/${marker.replace(/\W/g, '-')}/` : marker)).toBe(true);
      },
    );

    test('node without the switch fails: its bundled roots do not hold the org CA (the switch is what did it)', async () => {
      const r = await runWithStore(
        storeDir,
        clientArgv('node', lab().upstream.url, `via=node-bare-${proxyName}`, work),
        env({}),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /unable to verify the first certificate|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|unable to get local issuer certificate|self-signed certificate in certificate chain/,
      );
    });

    test('exec --strategy native runs node with the switch and it verifies', async () => {
      const marker = `via=node-exec-${proxyName}`;
      const r = await orgCa(
        ['exec', '--ca', caFile, '--strategy', 'native', '--', ...clientArgv('node', lab().upstream.url, marker, work)],
        env({}),
        true,
      );
      expect(r.stdout).toContain('upstream-ok');
      expect(r.code).toBe(0);
      expect(proxy().saw(marker)).toBe(true);
    });
  });
});

describe('without the org CA in the OS store', () => {
  test('native falls back to the CA files and variables, with a one-line notice naming the store and the CA', async () => {
    const r = await orgCa(
      ['env', '--ca', caFile, '--strategy', 'native', '--dir', lab().scratch('fallback')],
      bare,
      false,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^org-ca env: strategy 'native': the OS store \(\/etc\/ssl\/certs\/ca-certificates\.crt\) does not hold CN=Example Org Inspection CA.*; falling back to strategy 'env' \(CA files and variables\)\.$/m,
    );
    const variables = evaluated(r.stdout);
    expect(variables).toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(variables).not.toHaveProperty('NODE_USE_SYSTEM_CA');
  });

  test('both with the CA in the store gives the files and the switches', async () => {
    const r = await orgCa(['env', '--ca', caFile, '--strategy', 'both', '--dir', lab().scratch('both')], bare, true);
    expect(r.code).toBe(0);
    const variables = evaluated(r.stdout);
    expect(variables).toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(variables).toHaveProperty('NODE_USE_SYSTEM_CA', '1');
  });
});

/** The bundled main step, run as the runner runs it (INPUT_*, GITHUB_ENV…), optionally inside the private store. */
async function runMainStep(inputs: Record<string, string>, inStore: boolean) {
  const dist = await buildDist(['main', 'post']);
  const work = mkdtempSync(join(lab().dir, 'step-'));
  const files = {
    GITHUB_ENV: join(work, 'env'),
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_STATE: join(work, 'state'),
    GITHUB_STEP_SUMMARY: join(work, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const runnerTemp = join(work, 'temp');
  mkdirSync(runnerTemp);
  const env: Record<string, string> = {
    ...bare,
    ...files,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: runnerTemp,
    RUNNER_ENVIRONMENT: 'self-hosted',
  };
  // No registry trust: it writes under /etc/*/certs.d, which the registry suites, running beside this one, check is
  // left as they found it; these steps have no post step to take it out.
  for (const [k, v] of Object.entries({ registries: 'none', ...inputs })) env[inputVariable(k)] = v;
  const argv = [process.execPath, join(dist, 'main', 'index.js')];
  const r = inStore ? await runWithStore(storeDir, argv, env) : await run(argv[0]!, argv.slice(1), env);
  return {
    ...r,
    runnerTemp,
    env: parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')),
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
  };
}

describe('the action input strategy', () => {
  // The bundles are built once, up front: under load a build inside the first test would eat its time limit.
  beforeAll(() => buildDist(['main', 'post']), 600_000);
  test('native with the CA in the OS store: GITHUB_ENV gets only the switches, no file is written', async () => {
    // `ca` (the text, as from a secret), not `ca-file`: the sh that sets up the mount namespace drops variables whose
    // names are not shell identifiers, such as INPUT_CA-FILE.
    const step = await runMainStep({ ca: readFileSync(caFile, 'utf8'), when: 'always', strategy: 'native' }, true);
    expect(`exit ${step.code}: ${step.stdout}${step.stderr}`).toMatch(/^exit 0: /);
    expect(step.env).toEqual({ NODE_USE_SYSTEM_CA: '1', DENO_TLS_CA_STORE: 'mozilla,system', UV_SYSTEM_CERTS: 'true' });
    expect(step.outputs).toMatchObject({ injected: 'true', reason: 'when-always' });
    expect(step.outputs['ca-path'] ?? '').toBe('');
    // Only the in-build helper's directory (never a CA) is in RUNNER_TEMP: no org-ca-XXXX files directory.
    expect(readdirSync(step.runnerTemp)).toEqual(['org-ca-build-context']);
    expect(step.summary).toContain('Native verifiers (the OS store holds the CA)');
  });

  test('native without the CA in the OS store: a warning, and the CA files and variables as with env', async () => {
    const step = await runMainStep({ 'ca-file': caFile, when: 'always', strategy: 'native' }, false);
    expect(step.code).toBe(0);
    expect(step.stdout).toMatch(
      /^::warning::strategy 'native': the OS store .* does not hold .*falling back to strategy 'env'/m,
    );
    expect(step.env).toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(step.env).not.toHaveProperty('NODE_USE_SYSTEM_CA');
  });

  test('an unknown strategy fails the step quoting it', async () => {
    const step = await runMainStep({ 'ca-file': caFile, when: 'always', strategy: 'system' }, false);
    expect(step.code).toBe(1);
    expect(step.stdout).toMatch(/^::error::Invalid strategy 'system'\. Expected one of: env, native, both\.$/m);
  });
});
