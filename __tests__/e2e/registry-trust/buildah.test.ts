/**
 * Issue 12's end-to-end proof for buildah (containers/image, as podman and skopeo): `buildah pull` of a base image
 * from a real registry through a real TLS-inspection proxy fails with the real x509 error, passes once the bundled
 * action added the org CA under /etc/containers/certs.d (no daemon, nothing to restart), also when the registry
 * redirects blobs to another host, and the post step leaves the trust directories as it found them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  runAction,
  startJobWorker,
  useInspectionLab,
  waitFor,
  type ActionRun,
  type JobWorker,
  type Lab,
  type Proxy,
} from '../../support/inspection/index.js';
import { buildDist } from '../../support/inspection/action-runner.js';
import {
  changedPaths,
  loopbackNamesResolve,
  treeSnapshot,
  useHostTrust,
  usePullRegistries,
  type Registry,
} from '../../support/registry/index.js';

const TRUST_ROOTS = ['/etc/docker/certs.d', '/etc/containers/certs.d'];
const lab = useInspectionLab({ mitmproxy: true, squid: true });
// Root (daemons, certs.d) and the loopback registry names scripts/setup.sh maps in /etc/hosts: missing, the file
// fails at once with the reason rather than skipping.
const usable = process.getuid?.() === 0 && loopbackNamesResolve();
if (!usable)
  throw new Error('registry e2e needs root and the loopback names vm and runsc in /etc/hosts: run scripts/setup.sh');
const maybe = describe;

const registries = usePullRegistries(lab);
/** Each test holds the lock on the host's certs.d; main runs whose post step has not run yet are undone after it. */
const pending = useHostTrust();

/** `buildah pull` with its own storage under the lab, through the proxy; never throws. */
function buildahPull(
  l: Lab,
  proxy: Proxy,
  ref: string,
  creds?: { user: string; password: string },
): Promise<{ code: number; output: string }> {
  const store = l.scratch('buildah');
  const args = [
    '--root',
    join(store, 'root'),
    '--runroot',
    join(store, 'runroot'),
    '--storage-driver',
    'vfs',
    'pull',
    '--quiet',
    ...(creds ? ['--creds', `${creds.user}:${creds.password}`] : []),
    ref,
  ];
  return new Promise((resolve) => {
    const child = spawn('buildah', args, {
      env: { PATH: process.env.PATH ?? '', HOME: store, HTTPS_PROXY: proxy.url, NO_PROXY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120000,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

async function withAction(l: Lab, caFile: string, registries: string, body: () => Promise<void>): Promise<void> {
  const before = treeSnapshot(TRUST_ROOTS);
  const main = await runAction('main', {
    inputs: { 'ca-file': caFile, when: 'always', registries },
    env: l.jobEnv(),
    timeoutMs: 60000,
  });
  pending.add(main);
  // The step's own words when it did not act: what it printed says why.
  expect(
    `exit ${main.exitCode}, injected ${main.outputs.injected}: ${main.stdout.slice(-600)}${main.stderr.slice(-300)}`,
  ).toMatch(/^exit 0, injected true: /);
  await body();
  pending.delete(main);
  const post = await runAction('post', { state: main.state, runnerTemp: main.runnerTemp, timeoutMs: 60000 });
  expect(post.exitCode).toBe(0);
  expect(post.stdout).not.toMatch(/::warning::/);
  expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
}

maybe('buildah pulling from a registry behind TLS inspection', () => {
  const cases: { proxy: 'mitmproxy' | 'squid'; registry: () => Registry; ca: (l: Lab) => string }[] = [
    { proxy: 'mitmproxy', registry: () => registries().authed, ca: (l) => l.pki.paths.orgCa },
    { proxy: 'squid', registry: () => registries().open, ca: (l) => l.pki.paths.orgChain },
  ];

  test.each(cases)(
    'through $proxy: x509 first, passes with the org CA under /etc/containers/certs.d, post step restores it',
    async ({ proxy, registry, ca }) => {
      const l = lab();
      const p = l[proxy] as Proxy;
      const reg = registry();
      const ref = `${reg.host}/base:1`;
      const failed = await buildahPull(l, p, ref, reg.credentials);
      expect(failed.code).not.toBe(0);
      expect(failed.output).toMatch(/x509: certificate signed by unknown authority/);
      await withAction(l, ca(l), reg.host, async () => {
        const passed = await buildahPull(l, p, ref, reg.credentials);
        expect(`exit ${passed.code}: ${passed.output.trim().slice(-300)}`).toMatch(/^exit 0/);
        expect(await waitFor(() => p.saw(`${reg.host}/v2/base/`), 15000)).toBe(true);
      });
    },
    240000,
  );

  test("a job cancelled before its post step: the runner's job-completed hook takes the certs.d entries out; a journal left over is reverted by the next main step", async () => {
    const l = lab();
    const p = l.mitmproxy!;
    const reg = registries().open;
    const ref = `${reg.host}/base:1`;
    const journal = join(l.scratch('registry-journal'), 'registry-journal.json');
    const env = l.jobEnv({ ORG_CA_REGISTRY_JOURNAL: journal });
    const before = treeSnapshot(TRUST_ROOTS);

    // A job whose post step never ran: the journal file is all that is left of it.
    const first = await runAction('main', {
      inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries: reg.host },
      env,
      timeoutMs: 60000,
      jobEnds: true,
    });
    expect(first.exitCode).toBe(0);
    expect(first.state['registry-journal']).toBe(journal);
    expect(JSON.parse(readFileSync(journal, 'utf8')).entries.length).toBeGreaterThan(0);
    expect((await buildahPull(l, p, ref)).code).toBe(0);
    const dist = await buildDist(['cli']);
    const hook = spawnSync(process.execPath, [join(dist, 'cli', 'index.js'), 'runner', 'job-completed'], {
      env: {
        PATH: process.env.PATH,
        HOME: env.HOME,
        RUNNER_TEMP: l.scratch('runner-temp'),
        ORG_CA_REGISTRY_JOURNAL: journal,
      },
      encoding: 'utf8',
      timeout: 60000,
    });
    expect(hook.status).toBe(0);
    expect(hook.stdout).toMatch(
      new RegExp(
        `^org-ca: registry trust removed: .*/etc/containers/certs\\.d/${reg.host.replace('.', '\\.')}/org-ca-[0-9a-f]{8}\\.crt`,
        'm',
      ),
    );
    expect(existsSync(journal)).toBe(false);
    expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
    expect((await buildahPull(l, p, ref)).output).toMatch(/x509: certificate signed by unknown authority/);

    // No hook either: the next run's main step reverts what the journal lists before it writes its own.
    const second = await runAction('main', {
      inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries: reg.host },
      env,
      timeoutMs: 60000,
      jobEnds: true,
    });
    expect(second.exitCode).toBe(0);
    const third = await runAction('main', {
      inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries: reg.host },
      env,
      timeoutMs: 60000,
    });
    pending.add(third);
    expect(third.exitCode).toBe(0);
    expect(third.stdout).toContain('A journal left by an earlier run: registry trust removed:');
    expect((await buildahPull(l, p, ref)).code).toBe(0);
    pending.delete(third);
    const post = await runAction('post', { state: third.state, runnerTemp: third.runnerTemp, timeoutMs: 60000 });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).not.toMatch(/::warning::/);
    expect(existsSync(journal)).toBe(false);
    expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
  }, 240000);

  test("two jobs at once on one runner host: the second leaves the first's trust alone, each post step removes only its own, and either may end first", async () => {
    const l = lab();
    const p = l.mitmproxy!;
    const reg = registries().open;
    const ref = `${reg.host}/base:1`;
    const dir = `/etc/containers/certs.d/${reg.host}`;
    const ours = (): string[] => readdirSync(dir).filter((name) => /^org-ca-[0-9a-f]{8}\.crt$/.test(name));
    const main = (worker?: JobWorker): Promise<ActionRun> =>
      runAction('main', {
        inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries: reg.host },
        env: l.jobEnv(),
        timeoutMs: 60000,
        ...(worker ? { worker } : {}),
      });
    const post = async (run: ActionRun, worker?: JobWorker): Promise<void> => {
      pending.delete(run);
      const done = await runAction('post', {
        state: run.state,
        runnerTemp: run.runnerTemp,
        timeoutMs: 60000,
        ...(worker ? { worker } : {}),
      });
      expect(done.exitCode).toBe(0);
      expect(done.stdout).not.toMatch(/::warning::/);
    };

    for (const firstEndsFirst of [true, false]) {
      const before = treeSnapshot(TRUST_ROOTS);
      // Job one runs under a stand-in for its own Runner.Worker; job two under the test worker.
      const worker = await startJobWorker();
      try {
        const first = await main(worker);
        pending.add(first);
        const second = await main();
        pending.add(second);
        expect([first.exitCode, second.exitCode]).toEqual([0, 0]);
        expect(second.stdout).toContain(
          `Registry trust of a job still running on this host (process ${worker.pid}) is left to it: /var/lib/org-ca/registry-journal-`,
        );
        expect(second.stdout).not.toMatch(/::warning::|A journal left by an earlier run/);
        expect(ours()).toHaveLength(2);

        // One job ends: the other still pulls through the proxy with the org CA.
        if (firstEndsFirst) await post(first, worker);
        else await post(second);
        expect(ours()).toHaveLength(1);
        expect(`exit ${(await buildahPull(l, p, ref)).code}`).toBe('exit 0');
        if (firstEndsFirst) await post(second);
        else await post(first, worker);
      } finally {
        await worker.end();
      }
      expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
      expect((await buildahPull(l, p, ref)).output).toMatch(/x509: certificate signed by unknown authority/);
    }
  }, 240000);

  test("registries: auto (the default) changes nothing outside the job where no builder is installed, and only containers/image's directories where buildah is", async () => {
    const l = lab();
    const noBuilders = l.scratch('path-without-builders');
    const buildahDir = spawnSync('sh', ['-c', 'command -v buildah'], { encoding: 'utf8' })
      .stdout.trim()
      .replace(/\/buildah$/, '');
    // A Docker Engine elsewhere (tcp://) reads another machine's certs.d: not one on this runner.
    const remoteDocker = { DOCKER_HOST: 'tcp://127.0.0.1:9' };
    // What the runner passes when the workflow leaves the input out: action.yml's default.
    const defaults = (parse(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, { default?: string }> })
      .inputs;
    const registries = defaults.registries?.default ?? '';
    expect(registries).toBe('auto');
    const before = treeSnapshot(TRUST_ROOTS);

    const plain = await runAction('main', {
      inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries },
      env: l.jobEnv({ ...remoteDocker, PATH: noBuilders }),
      timeoutMs: 60000,
    });
    pending.add(plain);
    expect(`exit ${plain.exitCode}, injected ${plain.outputs.injected}`).toBe('exit 0, injected true');
    // The runner shows ::debug:: lines only with step debugging on.
    const shown = plain.stdout
      .split('\n')
      .filter((line) => !line.startsWith('::debug::'))
      .join('\n');
    expect(shown).not.toMatch(/::warning::|registr|certs\.d/i);
    expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
    pending.delete(plain);
    await runAction('post', { state: plain.state, runnerTemp: plain.runnerTemp, timeoutMs: 60000 });

    const building = await runAction('main', {
      inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries },
      env: l.jobEnv({ ...remoteDocker, PATH: `${noBuilders}:${buildahDir}` }),
      timeoutMs: 60000,
    });
    pending.add(building);
    expect(building.exitCode).toBe(0);
    expect(building.stdout).toContain(`registries: auto found ${buildahDir}/buildah`);
    const changed = changedPaths(before, treeSnapshot(TRUST_ROOTS));
    for (const host of ['docker.io', 'ghcr.io', 'mcr.microsoft.com'])
      expect(changed.some((p) => p.startsWith(`/etc/containers/certs.d/${host}/org-ca-`))).toBe(true);
    expect(changed.filter((p) => p.startsWith('/etc/docker/'))).toEqual([]);
    pending.delete(building);
    const post = await runAction('post', { state: building.state, runnerTemp: building.runnerTemp, timeoutMs: 60000 });
    expect(post.stdout).not.toMatch(/::warning::/);
    expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
  }, 120000);

  test("two org-ca steps in one job: the second says so and leaves the first's trust to its post step", async () => {
    const l = lab();
    const reg = registries().open;
    const before = treeSnapshot(TRUST_ROOTS);
    const main = (): Promise<ActionRun> =>
      runAction('main', {
        inputs: { 'ca-file': l.pki.paths.orgCa, when: 'always', registries: reg.host },
        env: l.jobEnv(),
        timeoutMs: 60000,
      });
    const first = await main();
    pending.add(first);
    const second = await main();
    pending.add(second);
    expect(second.stdout).toContain(
      'Registry trust of an earlier org-ca step of this job is left to it: /var/lib/org-ca/registry-journal-',
    );
    // Post steps run in reverse order.
    for (const run of [second, first]) {
      pending.delete(run);
      const done = await runAction('post', { state: run.state, runnerTemp: run.runnerTemp, timeoutMs: 60000 });
      expect(done.stdout).not.toMatch(/::warning::/);
    }
    expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
  }, 120000);

  test("a blob redirect to another host is covered by the registry host's certs.d alone", async () => {
    const l = lab();
    const p = l.mitmproxy!;
    await withAction(l, l.pki.paths.orgCa, registries().front.host, async () => {
      const redirects = registries().front.redirects();
      const passed = await buildahPull(l, p, `${registries().front.host}/base:1`);
      expect(`exit ${passed.code}: ${passed.output.trim().slice(-300)}`).toMatch(/^exit 0/);
      expect(registries().front.redirects()).toBeGreaterThan(redirects);
      expect(await waitFor(() => p.saw(`${registries().front.cdnHost}/v2/base/blobs/`), 15000)).toBe(true);
      expect(treeSnapshot([`/etc/containers/certs.d/${registries().front.cdnHost}`])).toEqual({
        [`/etc/containers/certs.d/${registries().front.cdnHost}`]: 'absent',
      });
    });
  }, 240000);
});
