import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshVerdict, verdictKey, type CachedVerdict } from '../../../src/runner/cache.js';
import { withHooks, withoutHooks } from '../../../src/runner/env-file.js';
import { containerPath } from '../../../src/runner/job.js';
import { defaultHooksDir, install, uninstall, type InstallRequest } from '../../../src/runner/install.js';
import { hookScript } from '../../../src/runner/scripts.js';

const hooks = { started: '/opt/h/job-started.sh', completed: '/opt/h/job-completed.sh' };

describe('.env', () => {
  test.each<[string, string | undefined, string]>([
    ['no .env', undefined, ''],
    [
      'lines kept, missing final new line added',
      'LANG=C.UTF-8\nhttps_proxy=http://proxy:3128',
      'LANG=C.UTF-8\nhttps_proxy=http://proxy:3128\n',
    ],
    ['CRLF kept', 'A=1\r\nB=2\r\n', 'A=1\r\nB=2\r\n'],
  ])('%s', (_name, before, kept) => {
    const eol = before?.includes('\r\n') ? '\r\n' : '\n';
    const after = withHooks(before, hooks);
    expect(after).toBe(
      `${kept}ACTIONS_RUNNER_HOOK_JOB_STARTED=${hooks.started}${eol}ACTIONS_RUNNER_HOOK_JOB_COMPLETED=${hooks.completed}${eol}`,
    );
    expect(withoutHooks(after, hooks)).toBe(kept);
  });

  test('another hook already set is refused, naming it', () => {
    expect(() => withHooks('ACTIONS_RUNNER_HOOK_JOB_STARTED=/opt/other.sh\n', hooks)).toThrow(
      "the runner's .env already sets ACTIONS_RUNNER_HOOK_JOB_STARTED=/opt/other.sh: org-ca will not replace another hook; chain it from that script or remove it first.",
    );
  });
});

describe('hook scripts under bash -e, as the runner runs them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'org-ca-hookscript-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A stand-in for node that exits with `code`: the script's mapping of org-ca's status is what is tested. */
  const scriptExiting = (phase: 'job-started' | 'job-completed', code: number): string => {
    const fake = join(dir, `fake-${phase}-${code}`);
    writeFileSync(fake, `#!/bin/sh\nexit ${code}\n`);
    chmodSync(fake, 0o755);
    const script = join(dir, `${phase}-${code}.sh`);
    writeFileSync(script, hookScript(phase, { node: fake, cli: "/opt/it's/org-ca.js", config: '/opt/h/config.json' }));
    return script;
  };
  test.each<['job-started' | 'job-completed', number, number, boolean]>([
    ['job-started', 0, 0, false],
    ['job-started', 3, 1, false],
    ['job-started', 1, 0, true],
    ['job-started', 127, 0, true],
    ['job-completed', 0, 0, false],
    ['job-completed', 3, 0, true],
  ])('%s: org-ca exit %i → hook exit %i', (phase, code, expected, warns) => {
    const r = spawnSync('bash', ['-e', scriptExiting(phase, code)], { encoding: 'utf8' });
    expect(r.status).toBe(expected);
    expect(r.stdout.includes('::warning::')).toBe(warns);
  });
});

describe('verdict cache', () => {
  const key = verdictKey({
    probeUrls: ['https://a'],
    env: { HTTPS_PROXY: 'http://p:1' },
    caFingerprint: 'ab',
    policy: 'fail/inject',
  });
  const verdict: CachedVerdict = { key, at: 1000, act: true, reason: 'inspected-org-ca', message: 'm', warnings: [] };
  test('fresh within the TTL, for the same key only', () => {
    expect(freshVerdict(verdict, key, 1000 + 59_999, 60_000)).toBe(verdict);
    expect(freshVerdict(verdict, key, 1000 + 60_000, 60_000)).toBeUndefined();
    expect(freshVerdict(verdict, key, 999, 60_000)).toBeUndefined();
    expect(freshVerdict(verdict, key, 1000, 0)).toBeUndefined();
  });
  test('another proxy is another key', () => {
    expect(
      verdictKey({
        probeUrls: ['https://a'],
        env: { HTTPS_PROXY: 'http://p:2' },
        caFingerprint: 'ab',
        policy: 'fail/inject',
      }),
    ).not.toBe(key);
  });
});

test('container paths: RUNNER_TEMP on the host is /__w/_temp in the job container', () => {
  expect(containerPath('/srv/runner/_work/_temp/org-ca-hook/ca.pem', '/srv/runner/_work/_temp')).toBe(
    '/__w/_temp/org-ca-hook/ca.pem',
  );
  expect(
    containerPath(
      '-Dx=1 "-Djavax.net.ssl.trustStore=/srv/runner/_work/_temp/org-ca-hook/truststore.jks"',
      '/srv/runner/_work/_temp/',
    ),
  ).toBe('-Dx=1 "-Djavax.net.ssl.trustStore=/__w/_temp/org-ca-hook/truststore.jks"');
});

describe('install and uninstall on a directory', () => {
  const settings = {
    when: 'always' as const,
    probeUrls: ['https://example.invalid/'],
    probeTimeoutMs: 5000,
    onUnknown: 'fail' as const,
    onUnreachable: 'inject' as const,
    onVerificationOff: 'fail' as const,
    strategy: 'env' as const,
    cacheTtlMs: 60_000,
    jobPaths: 'host' as const,
  };
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'org-ca-runner-install-'));
    mkdirSync(join(base, 'runner'));
    writeFileSync(join(base, 'runner', 'run.sh'), '#!/bin/bash\n');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));
  const doInstall = (extra: Partial<InstallRequest> = {}) =>
    install({
      runnerDir: join(base, 'runner'),
      caPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
      settings,
      node: '/usr/bin/node',
      cli: '/opt/org-ca.js',
      ...extra,
    });

  test('a runner without .env gets one, and uninstall deletes it again', () => {
    doInstall();
    expect(readFileSync(join(base, 'runner', '.env'), 'utf8')).toMatch(
      /^ACTIONS_RUNNER_HOOK_JOB_STARTED=.*\nACTIONS_RUNNER_HOOK_JOB_COMPLETED=.*\n$/,
    );
    uninstall(join(base, 'runner'));
    expect(readdirSync(join(base, 'runner'))).toEqual(['run.sh']);
    expect(existsSync(defaultHooksDir(join(base, 'runner')))).toBe(false);
  });

  test('an .env edited since install keeps the edit; only the hook lines go', () => {
    writeFileSync(join(base, 'runner', '.env'), 'A=1\n');
    doInstall();
    appendFileSync(join(base, 'runner', '.env'), 'B=2\n');
    expect(uninstall(join(base, 'runner'))[0]).toMatch(/changed since install: removed only org-ca's two hook lines/);
    expect(readFileSync(join(base, 'runner', '.env'), 'utf8')).toBe('A=1\nB=2\n');
  });

  test('hooks inside the runner directory, or a missing runner directory, are refused before anything is written', () => {
    expect(() => doInstall({ hooksDir: join(base, 'runner', 'hooks') })).toThrow(/is inside the runner directory/);
    expect(() => doInstall({ runnerDir: join(base, 'nope') })).toThrow(/^--runner-dir '.*nope' is not a directory/);
    // A directory that holds no runner (a typo, an empty directory) is refused: no hooks for a runner that is not there.
    mkdirSync(join(base, 'empty'));
    expect(() => doInstall({ runnerDir: join(base, 'empty') })).toThrow(
      /^--runner-dir '.*empty' holds no Actions runner \(none of run\.sh, config\.sh, \.runner\)/,
    );
    expect(readdirSync(join(base, 'empty'))).toEqual([]);
    expect(readdirSync(join(base, 'runner'))).toEqual(['run.sh']);
  });
});
