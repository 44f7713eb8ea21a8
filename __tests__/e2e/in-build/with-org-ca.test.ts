/**
 * The in-build helper under the two shells images actually have: dash (Debian/Ubuntu /bin/sh) and busybox ash
 * (Alpine, busybox images). Real processes, real files, a real signal.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

const HELPER = fileURLToPath(new URL('../../../src/in-build/with-org-ca.sh', import.meta.url));
const SHELLS: Array<[string, string[]]> = [
  ['dash', ['dash']],
  ['busybox', ['busybox', 'sh']],
];

let root: Issued;
let leaf: Issued;
let work: string;
let secret: string;

beforeAll(() => {
  root = mintRoot({ cn: 'Helper Test Org Root', org: 'Helper Test Org' });
  leaf = mintLeaf(root, { cn: 'upstream.test', dnsNames: ['upstream.test'] });
  work = mkdtempSync(join(tmpdir(), 'org-ca-helper-'));
  secret = join(work, 'org_ca');
  writeFileSync(secret, root.certPem);
  writeFileSync(join(work, 'leaf.pem'), leaf.certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The base64 body lines of the CA: none of them may appear in anything the helper prints. */
function caBodyLines(): string[] {
  return root.certPem.split('\n').filter((line) => line && !line.startsWith('-----'));
}

interface Sandbox {
  readonly tmp: string;
  readonly cwd: string;
}

function sandbox(): Sandbox {
  const dir = mkdtempSync(join(work, 'run-'));
  const tmp = join(dir, 'tmp');
  const cwd = join(dir, 'cwd');
  mkdirSync(tmp);
  mkdirSync(cwd);
  return { tmp, cwd };
}

function helperEnv(box: Sandbox, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // A clean environment: the machine's own SSL_CERT_FILE & co. must not decide the outcome.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: box.cwd, TMPDIR: box.tmp, ORG_CA_SECRET: secret, ...extra };
}

function run(shell: string[], box: Sandbox, command: string[], extra: Record<string, string> = {}, input?: string) {
  const out = spawnSync(shell[0]!, [...shell.slice(1), HELPER, ...command], {
    cwd: box.cwd,
    env: helperEnv(box, extra),
    encoding: 'utf8',
    timeout: 60000,
    ...(input !== undefined ? { input } : {}),
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

describe.each(SHELLS)('with-org-ca under %s', (_name, shell) => {
  test('exports the CA, the combined bundle, WGETRC and APT_CONFIG to the command, and they verify a real chain', () => {
    const box = sandbox();
    const script = [
      'env',
      'echo "--- apt"; cat "$APT_CONFIG"',
      'echo "--- wgetrc"; cat "$WGETRC"',
      `echo "--- verify"; openssl verify -CAfile "$SSL_CERT_FILE" ${join(work, 'leaf.pem')}`,
      `echo "--- verify-node"; openssl verify -CAfile "$NODE_EXTRA_CA_CERTS" ${join(work, 'leaf.pem')}`,
      'echo "--- modes"; ls -ld "$(dirname "$SSL_CERT_FILE")" "$SSL_CERT_FILE" "$APT_CONFIG"',
    ].join('\n');
    const out = run(shell, box, ['sh', '-c', script]);
    expect(out.status).toBe(0);
    const env = parseEnv(out.stdout.split('--- apt')[0]!);
    const dir = env.SSL_CERT_FILE!.slice(0, env.SSL_CERT_FILE!.lastIndexOf('/'));
    expect(dir.startsWith(`${box.tmp}/org-ca.`)).toBe(true);
    expect(env.NODE_EXTRA_CA_CERTS).toBe(`${dir}/org-ca.pem`);
    expect(env.CURL_CA_BUNDLE).toBe(`${dir}/ca-bundle.pem`);
    expect(env.WGETRC).toBe(`${dir}/wgetrc`);
    expect(env.APT_CONFIG).toBe(`${dir}/apt.conf`);
    expect(out.stdout).toContain(`--- apt\nAcquire::https::CAInfo "${dir}/ca-bundle.pem";\n`);
    expect(out.stdout).toContain(`--- wgetrc\nca_certificate = ${dir}/ca-bundle.pem\n`);
    expect(out.stdout).toMatch(/--- verify\n.*leaf\.pem: OK/);
    expect(out.stdout).toMatch(/--- verify-node\n.*leaf\.pem: OK/);
    // world-readable directory and files: apt fetches as _apt
    const modes = out.stdout
      .split('--- modes\n')[1]!
      .trim()
      .split('\n')
      .map((line) => line.slice(0, 10));
    expect(modes).toEqual(['drwxr-xr-x', '-rw-r--r--', '-rw-r--r--']);
    // nothing left behind, nothing in the working directory
    expect(readdirSync(box.tmp)).toEqual([]);
    expect(readdirSync(box.cwd)).toEqual([]);
  });

  test('the combined bundle is the image bundle + what tools already pointed at + the CA', () => {
    const box = sandbox();
    const system = join(work, 'system-bundle.pem');
    const extra = join(work, 'extra.pem');
    writeFileSync(system, mintRoot({ cn: 'Public Root A' }).certPem);
    writeFileSync(extra, mintRoot({ cn: 'Already Trusted B' }).certPem.trimEnd()); // no final newline
    const out = run(shell, box, ['sh', '-c', 'cat "$SSL_CERT_FILE"'], {
      ORG_CA_SYSTEM_BUNDLES: `/nonexistent/bundle.pem ${system}`,
      SSL_CERT_FILE: extra,
    });
    expect(out.status).toBe(0);
    const blocks = out.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(blocks.map((b) => b.replace(/\s+/g, ''))).toEqual(
      [readFileSync(system, 'utf8'), readFileSync(extra, 'utf8'), root.certPem].map((pem) =>
        pem.trim().replace(/\s+/g, ''),
      ),
    );
  });

  test('the org_ca_bundle secret, when mounted, comes first, with the image bundle and the CA after it', () => {
    const box = sandbox();
    const runnerBundle = join(work, 'org_ca_bundle');
    const runnerRoot = mintRoot({ cn: 'Runner Root' });
    writeFileSync(runnerBundle, `${runnerRoot.certPem}${root.certPem}`);
    const system = join(work, 'system-bundle-2.pem');
    const imageRoot = mintRoot({ cn: 'Image Root' });
    writeFileSync(system, imageRoot.certPem);
    const out = run(shell, box, ['sh', '-c', 'cat "$SSL_CERT_FILE"'], {
      ORG_CA_SYSTEM_BUNDLES: system,
      ORG_CA_BUNDLE_SECRET: runnerBundle,
    });
    expect(out.status).toBe(0);
    const blocks = (out.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) =>
      b.replace(/\s+/g, ''),
    );
    const flat = (pem: string): string => pem.trim().replace(/\s+/g, '');
    expect(blocks).toEqual([flat(runnerRoot.certPem), flat(root.certPem), flat(imageRoot.certPem), flat(root.certPem)]);
  });

  test('no bundle in the image and none mounted: replacing variables are left alone, appending ones set, and it says what to mount', () => {
    const box = sandbox();
    const out = run(shell, box, ['sh', '-c', 'env; exit 4'], {
      ORG_CA_SYSTEM_BUNDLES: '/nonexistent/a.pem',
      ORG_CA_BUNDLE_SECRET: join(work, 'no-bundle-secret'),
    });
    expect(out.status).toBe(4);
    const env = parseEnv(out.stdout);
    for (const name of [
      'SSL_CERT_FILE',
      'REQUESTS_CA_BUNDLE',
      'CURL_CA_BUNDLE',
      'PERL_LWP_SSL_CA_FILE',
      'WGETRC',
      'WGET2RC',
      'APT_CONFIG',
    ])
      expect({ name, value: env[name] }).toEqual({ name, value: undefined });
    expect(env.NODE_EXTRA_CA_CERTS).toMatch(/\/org-ca\.pem$/);
    expect(env.DENO_CERT).toMatch(/\/org-ca\.pem$/);
    expect(out.stderr).toContain(
      "with-org-ca: WARNING: this image has no CA bundle and no org_ca_bundle secret is mounted, so SSL_CERT_FILE and the other variables that replace a tool's roots are left unset (the org CA alone would break every site it does not sign): add --mount=type=secret,id=org_ca_bundle,required=false to this RUN\n",
    );
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  test('the warning is printed even with ORG_CA_QUIET', () => {
    const box = sandbox();
    const out = run(shell, box, ['true'], {
      ORG_CA_SYSTEM_BUNDLES: '/nonexistent/a.pem',
      ORG_CA_BUNDLE_SECRET: join(work, 'no-bundle-secret'),
      ORG_CA_QUIET: '1',
    });
    expect(out.stderr).toMatch(/^with-org-ca: WARNING: this image has no CA bundle/);
  });

  test('an SSL_CERT_FILE the image already sets counts as its bundle', () => {
    const box = sandbox();
    const own = join(work, 'image-own-bundle.pem');
    writeFileSync(own, mintRoot({ cn: 'Image Own' }).certPem);
    const out = run(shell, box, ['sh', '-c', 'grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE"'], {
      ORG_CA_SYSTEM_BUNDLES: '/nonexistent/a.pem',
      ORG_CA_BUNDLE_SECRET: join(work, 'no-bundle-secret'),
      SSL_CERT_FILE: own,
    });
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe('2');
    expect(out.stderr).not.toMatch(/WARNING/);
  });

  test('an appending variable the image already sets is kept: its certificates + the org CA', () => {
    const box = sandbox();
    const internal = mintRoot({ cn: 'Image Internal CA' });
    const preset = join(work, 'image-node-extra.pem');
    writeFileSync(preset, internal.certPem);
    const out = run(
      shell,
      box,
      ['sh', '-c', 'echo "$NODE_EXTRA_CA_CERTS"; cat "$NODE_EXTRA_CA_CERTS"; echo "--- deno"; echo "$DENO_CERT"'],
      { NODE_EXTRA_CA_CERTS: preset },
    );
    expect(out.status).toBe(0);
    const [path] = out.stdout.split('\n');
    expect(path).not.toBe(preset);
    const blocks = (
      out.stdout.split('--- deno')[0]!.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    ).map((b) => b.replace(/\s+/g, ''));
    expect(blocks).toEqual([internal.certPem, root.certPem].map((pem) => pem.trim().replace(/\s+/g, '')));
    expect(out.stdout.split('--- deno\n')[1]!.trim()).toMatch(/\/org-ca\.pem$/);
    expect(readFileSync(preset, 'utf8')).toBe(internal.certPem);
  });

  test('exports PERL_LWP_SSL_CA_FILE (never HTTPS_CA_FILE) and a WGET2RC that keeps the user wget2rc', () => {
    const box = sandbox();
    const userRc = join(work, 'user-wget2rc');
    writeFileSync(userRc, 'tries = 2\nca-certificate = /old/ca.pem\n');
    const out = run(shell, box, ['sh', '-c', 'env; echo "--- wget2rc"; cat "$WGET2RC"'], { WGET2RC: userRc });
    const env = parseEnv(out.stdout.split('--- wget2rc')[0]!);
    expect(env.PERL_LWP_SSL_CA_FILE).toBe(env.SSL_CERT_FILE);
    expect(env.HTTPS_CA_FILE).toBeUndefined();
    expect(out.stdout.split('--- wget2rc\n')[1]).toBe(`tries = 2\nca-certificate = ${env.SSL_CERT_FILE}\n`);
  });

  test.each([
    ['success', 'exit 0', 0],
    ['failure', 'exit 7', 7],
    ['command killed by a signal', 'kill -9 $$', 137],
  ])('passes the exit status on after %s and removes its files', (_case, script, status) => {
    const box = sandbox();
    const out = run(shell, box, ['sh', '-c', script]);
    expect(out.status).toBe(status);
    expect(readdirSync(box.tmp)).toEqual([]);
    expect(readdirSync(box.cwd)).toEqual([]);
  });

  test('a command that does not exist: 127, files removed', () => {
    const box = sandbox();
    const out = run(shell, box, ['no-such-command-org-ca']);
    expect(out.status).toBe(127);
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  test('SIGTERM to the helper reaches the command, removes the files, and ends with 143', async () => {
    const box = sandbox();
    const marker = join(box.cwd, '..', 'child.pid');
    const child = spawn(shell[0]!, [...shell.slice(1), HELPER, 'sh', '-c', `echo $$ > ${marker}; exec sleep 30`], {
      cwd: box.cwd,
      env: helperEnv(box),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20000;
    while (!existsSync(marker) || readFileSync(marker, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the command did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(readdirSync(box.tmp)).toHaveLength(1);
    const commandPid = Number(readFileSync(marker, 'utf8').trim());
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 15000))),
    ]);
    clearTimeout(timer);
    expect(code).toBe(143);
    expect(readdirSync(box.tmp)).toEqual([]);
    let alive = true;
    try {
      process.kill(commandPid, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
  });

  test("keeps the caller's stdin for the command", () => {
    const box = sandbox();
    const out = run(shell, box, ['cat'], {}, 'through stdin\n');
    expect(out.stdout).toBe('through stdin\n');
  });

  test('never prints the CA, not even when the command fails', () => {
    const box = sandbox();
    const out = run(shell, box, ['sh', '-c', 'echo doing things; exit 3']);
    const printed = out.stdout + out.stderr;
    for (const line of caBodyLines()) expect(printed).not.toContain(line);
    expect(out.stderr).toBe('with-org-ca: the org CA (1 certificate(s)) is trusted for: sh\n');
  });

  test.each([
    ['absent', (): string => join(work, 'no-such-secret')],
    [
      'empty',
      (): string => {
        const path = join(work, 'empty-secret');
        writeFileSync(path, '');
        return path;
      },
    ],
  ])('secret %s: runs the command unchanged, writes nothing', (_case, path) => {
    const box = sandbox();
    const out = run(shell, box, ['sh', '-c', 'env; exit 5'], { ORG_CA_SECRET: path(), SSL_CERT_FILE: '/kept/as/is' });
    expect(out.status).toBe(5);
    const env = parseEnv(out.stdout);
    expect(env.SSL_CERT_FILE).toBe('/kept/as/is');
    for (const name of ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'APT_CONFIG', 'WGETRC', 'JAVA_TOOL_OPTIONS'])
      expect(env[name]).toBeUndefined();
    expect(out.stderr).toBe('');
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  test('refuses a private key in the secret without running the command or printing it', () => {
    const box = sandbox();
    const bad = join(work, 'key-secret');
    writeFileSync(bad, `${root.certPem}${root.keyPem}`);
    const out = run(shell, box, ['sh', '-c', 'echo RAN'], { ORG_CA_SECRET: bad });
    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      `with-org-ca: '${bad}' holds a private key: expected the org CA certificate only; nothing was run\n`,
    );
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  test('refuses a secret without a PEM certificate', () => {
    const box = sandbox();
    const bad = join(work, 'der-secret');
    writeFileSync(bad, root.der);
    const out = run(shell, box, ['true'], { ORG_CA_SECRET: bad });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain(
      "holds no PEM certificate: expected the org CA as PEM (the action's secret-files output)",
    );
    expect(readdirSync(box.tmp)).toEqual([]);
  });

  test('accepts CRLF line ends and keeps an existing APT_CONFIG and wgetrc', () => {
    const box = sandbox();
    const crlf = join(work, 'crlf-secret');
    writeFileSync(crlf, root.certPem.replace(/\n/g, '\r\n'));
    const aptConf = join(work, 'old-apt.conf');
    writeFileSync(aptConf, 'Acquire::Retries "7";\n');
    const wgetrc = join(work, 'old-wgetrc');
    writeFileSync(wgetrc, 'tries = 2\nca_certificate = /old/ca.pem\n');
    const out = run(
      shell,
      box,
      [
        'sh',
        '-c',
        `cat "$APT_CONFIG" "$WGETRC"; openssl verify -CAfile "$NODE_EXTRA_CA_CERTS" ${join(work, 'leaf.pem')}`,
      ],
      {
        ORG_CA_SECRET: crlf,
        APT_CONFIG: aptConf,
        WGETRC: wgetrc,
      },
    );
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`#include "${aptConf}";\nAcquire::https::CAInfo "`);
    expect(out.stdout).toContain('tries = 2\nca_certificate = ');
    expect(out.stdout).not.toContain('/old/ca.pem');
    expect(out.stdout).toContain('leaf.pem: OK');
  });

  test('with no command: usage error 2', () => {
    const box = sandbox();
    const out = run(shell, box, []);
    expect(out.status).toBe(2);
    expect(out.stderr).toBe("with-org-ca: no command given: expected 'with-org-ca COMMAND [ARGS...]'\n");
  });
});

const hasKeytool = spawnSync('sh', ['-c', 'command -v keytool && command -v java'], { encoding: 'utf8' }).status === 0;
(hasKeytool ? test : test.skip)(
  'Java: a copy of the JDK cacerts plus the org CA, appended to JAVA_TOOL_OPTIONS',
  () => {
    const box = sandbox();
    const out = run(
      ['dash'],
      box,
      [
        'sh',
        '-c',
        'echo "$JAVA_TOOL_OPTIONS"; store=${JAVA_TOOL_OPTIONS#*trustStore=}; store=${store%% *}; keytool -list -keystore "$store" -storepass changeit -alias org-ca-1 >/dev/null && echo HAS-ORG-CA; keytool -list -keystore "$store" -storepass changeit | grep -c trustedCertEntry',
      ],
      {
        JAVA_TOOL_OPTIONS: '-Xmx64m',
      },
    );
    expect(out.status).toBe(0);
    const [options, has, count] = out.stdout.trim().split('\n');
    expect(options).toMatch(
      /^-Xmx64m -Djavax\.net\.ssl\.trustStore=\S+\/truststore -Djavax\.net\.ssl\.trustStorePassword=changeit$/,
    );
    expect(has).toBe('HAS-ORG-CA');
    // the JDK's public roots are still there
    expect(Number(count)).toBeGreaterThan(50);
    expect(readdirSync(box.tmp)).toEqual([]);
  },
);

const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
const chroot = spawnSync('sh', ['-c', 'command -v chroot'], { encoding: 'utf8' }).stdout.trim();
const canChroot =
  process.getuid?.() === 0 &&
  busybox !== '' &&
  chroot !== '' &&
  spawnSync('sh', [
    '-c',
    `file -L ${busybox} 2>/dev/null | grep -q static || ldd ${busybox} 2>&1 | grep -q 'not a dynamic'`,
  ]).status === 0;

/** A busybox-only image: a root file system holding a static busybox and nothing else (no CA bundle anywhere). */
function busyboxImage(): string {
  const image = mkdtempSync(join(work, 'busybox-image-'));
  for (const d of ['bin', 'tmp', 'run/secrets', 'org-ca', 'etc', 'dev']) mkdirSync(join(image, d), { recursive: true });
  // A container runtime always provides /dev/null; a bare chroot needs its own.
  spawnSync('mknod', ['-m', '666', join(image, 'dev', 'null'), 'c', '1', '3']);
  spawnSync('cp', [busybox, join(image, 'bin', 'busybox')]);
  for (const applet of ['sh', 'env', 'cat', 'grep', 'mktemp', 'chmod', 'rm', 'head', 'readlink', 'echo', 'true'])
    spawnSync('ln', ['-s', 'busybox', join(image, 'bin', applet)]);
  spawnSync('cp', [HELPER, join(image, 'org-ca', 'with-org-ca')]);
  writeFileSync(join(image, 'run/secrets/org_ca'), root.certPem);
  spawnSync('chmod', ['1777', join(image, 'tmp')]);
  return image;
}

function inImage(image: string, script: string) {
  const out = spawnSync(chroot, [image, '/bin/busybox', 'sh', '/org-ca/with-org-ca', 'sh', '-c', script], {
    env: { PATH: '/bin', HOME: '/tmp' },
    encoding: 'utf8',
    timeout: 30000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('in a busybox-only image (a real chroot, no CA bundle at all)', () => {
  (canChroot ? test : test.skip)(
    'without the org_ca_bundle secret: no replacing variable points at the CA alone, and it says what to mount',
    () => {
      const image = busyboxImage();
      const out = inImage(image, 'env');
      expect(out.status).toBe(0);
      const env = parseEnv(out.stdout);
      expect(env.SSL_CERT_FILE).toBeUndefined();
      expect(env.CURL_CA_BUNDLE).toBeUndefined();
      expect(env.NODE_EXTRA_CA_CERTS).toMatch(/^\/tmp\/org-ca\.\w+\/org-ca\.pem$/);
      expect(out.stderr).toMatch(
        /WARNING: this image has no CA bundle and no org_ca_bundle secret is mounted.*--mount=type=secret,id=org_ca_bundle,required=false/,
      );
      expect(readdirSync(join(image, 'tmp'))).toEqual([]);
    },
  );

  (canChroot ? test : test.skip)('with the org_ca_bundle secret mounted: the replacing variables get it', () => {
    const image = busyboxImage();
    const runnerRoot = mintRoot({ cn: 'Runner Public Root' });
    writeFileSync(join(image, 'run/secrets/org_ca_bundle'), runnerRoot.certPem + root.certPem);
    const out = inImage(image, 'echo "$SSL_CERT_FILE"; grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE"; cat "$WGET2RC"');
    expect(out.status).toBe(0);
    const [path, count, rc] = out.stdout.split('\n');
    expect(path).toMatch(/^\/tmp\/org-ca\.\w+\/ca-bundle\.pem$/);
    expect(Number(count)).toBe(3);
    expect(rc).toBe(`ca-certificate = ${path}`);
    expect(out.stderr).not.toMatch(/WARNING/);
  });
});
