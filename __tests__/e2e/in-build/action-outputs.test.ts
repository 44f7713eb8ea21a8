/** The bundled action, run as the runner runs it, gives the build outputs in both cases: injected and not. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runAction } from '../../support/inspection/action-runner.js';
import { mintRoot } from '../../support/pki.js';

const PROXY = 'http://127.0.0.1:3128';

function helperDirOf(buildContexts: string): string {
  expect(buildContexts).toMatch(/^org-ca=\//);
  return buildContexts.slice('org-ca='.length);
}

function expectHelperOnly(dir: string): void {
  expect(readdirSync(dir)).toEqual(['with-org-ca']);
  const helper = join(dir, 'with-org-ca');
  expect(statSync(helper).mode & 0o777).toBe(0o755);
  expect(readFileSync(helper, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
  // the script names PEM markers, but holds no certificate body
  expect(readFileSync(helper, 'utf8')).not.toMatch(/^[A-Za-z0-9+/]{64}$/m);
}

test('injected: secret-files name the CA and the bundle, build-args carry only the proxy variables', async () => {
  const root = mintRoot({ cn: 'Action Outputs Root' });
  const run = await runAction('main', {
    inputs: { ca: root.certPem, when: 'always' },
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      https_proxy: PROXY,
      no_proxy: 'localhost',
      SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt',
    },
    runnerEnvironment: 'self-hosted',
    timeoutMs: 120000,
  });
  expect(run.exitCode).toBe(0);
  const { outputs } = run;
  expect(outputs['secret-files']).toBe(`org_ca=${outputs['ca-path']}\norg_ca_bundle=${outputs['bundle-path']}`);
  const helperDir = helperDirOf(outputs['build-contexts']!);
  expect(helperDir.startsWith(run.runnerTemp)).toBe(true);
  expectHelperOnly(helperDir);
  expect(outputs['build-args']).toBe(`https_proxy=${PROXY}\nno_proxy=localhost`);
  expect(outputs['docker-flags']).toBe(
    `--secret id=org_ca,src=${outputs['ca-path']} --secret id=org_ca_bundle,src=${outputs['bundle-path']} --build-context org-ca=${helperDir} --build-arg https_proxy=${PROXY} --build-arg no_proxy=localhost`,
  );
  const body = root.certPem.split('\n')[1]!;
  for (const name of ['secret-files', 'build-contexts', 'build-args', 'docker-flags'])
    expect(outputs[name]).not.toContain(body);
}, 180000);

test('not injected (GitHub-hosted runner): no secret, the helper context still there, so one workflow serves both', async () => {
  const run = await runAction('main', {
    inputs: { ca: mintRoot({ cn: 'Unused Root' }).certPem, when: 'self-hosted' },
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    runnerEnvironment: 'github-hosted',
    timeoutMs: 120000,
  });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.injected).toBe('false');
  expect(run.outputs['secret-files']).toBe('');
  expect(run.outputs['build-args']).toBe('');
  const helperDir = helperDirOf(run.outputs['build-contexts']!);
  expectHelperOnly(helperDir);
  expect(run.outputs['docker-flags']).toBe(`--build-context org-ca=${helperDir}`);
}, 180000);
