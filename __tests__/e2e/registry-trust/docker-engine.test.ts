/**
 * Issue 12's end-to-end proof for the pull side on a runner's own Docker Engine: a real dockerd (Debian docker.io,
 * Engine 20.10 with BuildKit) pulls the base image of a Dockerfile from a real registry (docker-registry with a
 * "public" certificate) through a real TLS-inspection proxy. It fails with the real x509 error, the bundled action
 * adds the org CA under /etc/docker/certs.d, the build passes, and the post step leaves certs.d as it found it.
 *
 * Measured here and asserted below: Engine 20.10's BuildKit learns which certs.d/HOST directories exist when dockerd
 * starts, so a directory created later needs a daemon restart; a registry's blob redirect to another host (Docker
 * Hub → CDN) is fetched with the registry's own trust, so certs.d of the registry host covers it.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import {
  runAction,
  useInspectionLab,
  waitFor,
  type ActionRun,
  type Lab,
  type Proxy,
} from '../../support/inspection/index.js';
import {
  CDN_NAME,
  changedPaths,
  loopbackNamesResolve,
  startDockerd,
  treeSnapshot,
  useHostTrust,
  usePullRegistries,
  type Registry,
  writeDockerConfig,
  type DockerEngine,
} from '../../support/registry/index.js';

const TRUST_ROOTS = ['/etc/docker/certs.d', '/etc/containers/certs.d'];
const X509 = /x509: certificate signed by unknown authority/;
const lab = useInspectionLab({ mitmproxy: true, squid: true });
// Root (daemons, certs.d) and the loopback registry names scripts/setup.sh maps in /etc/hosts: missing, the file
// fails at once with the reason rather than skipping.
const usable = process.getuid?.() === 0 && loopbackNamesResolve();
if (!usable)
  throw new Error('registry e2e needs root and the loopback names vm and runsc in /etc/hosts: run scripts/setup.sh');
const maybe = describe;

const registries = usePullRegistries(lab);

function dockerfile(l: Lab, from: string): string {
  const ctx = l.scratch('ctx');
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${from}\nCOPY marker /marker\n`);
  writeFileSync(join(ctx, 'marker'), 'built\n');
  return ctx;
}

async function build(
  engine: DockerEngine,
  ctx: string,
  dockerConfig: string,
): Promise<{ code: number; output: string }> {
  // --no-cache and a fresh tag: each attempt resolves the base image from the registry again.
  return engine.docker(['build', '--no-cache', '--network', 'host', '-t', `org-ca-e2e-${Date.now()}`, ctx], {
    dockerConfig,
  });
}

function describeBuild(r: { code: number; output: string }): string {
  return `exit ${r.code}: ${r.output.trim().split('\n').slice(-6).join(' | ')}`;
}

/** Each test holds the lock on the host's certs.d; main runs whose post step has not run yet are undone after it. */
const pending = useHostTrust();

async function runMain(l: Lab, caFile: string, registries: string): Promise<ActionRun> {
  const main = await runAction('main', {
    inputs: { 'ca-file': caFile, when: 'always', registries },
    env: l.jobEnv(),
    timeoutMs: 60000,
  });
  pending.add(main);
  expect(main.exitCode).toBe(0);
  expect(main.outputs.injected).toBe('true');
  return main;
}

async function runPost(main: ActionRun): Promise<ActionRun> {
  pending.delete(main);
  const post = await runAction('post', { state: main.state, runnerTemp: main.runnerTemp, timeoutMs: 60000 });
  expect(post.exitCode).toBe(0);
  expect(post.stdout).not.toMatch(/::warning::/);
  return post;
}

maybe('Docker Engine (BuildKit) pulling FROM a registry behind TLS inspection', () => {
  const cases: { proxy: 'mitmproxy' | 'squid'; registry: () => Registry; ca: (l: Lab) => string }[] = [
    { proxy: 'mitmproxy', registry: () => registries().open, ca: (l) => l.pki.paths.orgCa },
    { proxy: 'squid', registry: () => registries().authed, ca: (l) => l.pki.paths.orgChain },
  ];

  test.each(cases)(
    'through $proxy: x509 first, org CA under certs.d (after the restart 20.10 needs), post step restores certs.d',
    async ({ proxy, registry, ca }) => {
      const l = lab();
      const p = l[proxy] as Proxy;
      const reg = registry();
      const before = treeSnapshot(TRUST_ROOTS);
      const engine = await startDockerd(l.scratch(`dockerd-${proxy}`), { HTTPS_PROXY: p.url, NO_PROXY: '' });
      try {
        const config = writeDockerConfig(l.scratch('docker-config'), reg);
        const ctx = dockerfile(l, `${reg.host}/base:1`);

        const failed = await build(engine, ctx, config);
        expect(failed.code).not.toBe(0);
        expect(failed.output).toMatch(X509);
        expect(failed.output).toContain(reg.host);

        const main = await runMain(l, ca(l), `defaults, ${reg.host}`);
        const dir = `/etc/docker/certs.d/${reg.host}`;
        const [name] = readdirSync(dir);
        expect(name).toMatch(/^org-ca-[0-9a-f]{8}\.crt$/);
        expect(treeSnapshot([`${dir}/${name}`])[`${dir}/${name}`]).toMatch(/^file 644 /);
        // The notice says what the next assertion shows: the running 20.10 daemon does not see the new directory.
        expect(main.stdout).toMatch(
          /::notice title=org-ca%3A Docker Engine needs a restart for new registries::.*vm:\d+/,
        );
        const stale = await build(engine, ctx, config);
        expect(stale.output).toMatch(X509);

        await engine.restart();
        const passed = await build(engine, ctx, config);
        expect(describeBuild(passed)).toMatch(/^exit 0/);
        // The pull did go through the proxy, which re-signed it: the org CA is what made it pass.
        expect(await waitFor(() => p.saw(`${reg.host}/v2/base/`), 15000)).toBe(true);

        const buildkit = parse(main.outputs['buildkitd-config-inline']!) as {
          registry: Record<string, { ca: string[] }>;
        };
        expect(buildkit.registry[reg.host]).toEqual({ ca: [main.outputs['ca-path']] });
        expect(buildkit.registry['docker.io']).toEqual({ ca: [main.outputs['ca-path']] });
        expect(main.outputs['kaniko-flags']).toContain(`--registry-certificate=${reg.host}=${main.outputs['ca-path']}`);

        await runPost(main);
        expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
      } finally {
        await engine.stop();
      }
    },
    300000,
  );

  test('a blob redirect to another host (like Docker Hub → CDN) is covered by certs.d of the registry host alone', async () => {
    const l = lab();
    const p = l.mitmproxy!;
    const before = treeSnapshot(TRUST_ROOTS);
    const engine = await startDockerd(l.scratch('dockerd-redirect'), { HTTPS_PROXY: p.url, NO_PROXY: '' });
    try {
      const config = writeDockerConfig(l.scratch('docker-config'), registries().open);
      const ctx = dockerfile(l, `${registries().front.host}/base:1`);
      const main = await runMain(l, l.pki.paths.orgCa, registries().front.host);
      await engine.restart();
      const redirectsBefore = registries().front.redirects();
      const passed = await build(engine, ctx, config);
      expect(describeBuild(passed)).toMatch(/^exit 0/);
      // Blobs came from the CDN host, through the inspection proxy, with no certs.d directory of its own.
      expect(registries().front.redirects()).toBeGreaterThan(redirectsBefore);
      expect(registries().front.cdnGets()).toBeGreaterThan(0);
      expect(await waitFor(() => p.saw(`${registries().front.cdnHost}/v2/base/blobs/`), 15000)).toBe(true);
      expect(treeSnapshot([`/etc/docker/certs.d/${registries().front.cdnHost}`])).toEqual({
        [`/etc/docker/certs.d/${registries().front.cdnHost}`]: 'absent',
      });
      expect(registries().front.cdnHost.startsWith(`${CDN_NAME}:`)).toBe(true);
      await runPost(main);
      expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
    } finally {
      await engine.stop();
    }
  }, 300000);
});
