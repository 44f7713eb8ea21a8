/**
 * Issue 12's end-to-end proof for buildah (containers/image, as podman and skopeo): `buildah pull` of a base image
 * from a real registry through a real TLS-inspection proxy fails with the real x509 error, passes once the bundled
 * action added the org CA under /etc/containers/certs.d (no daemon, nothing to restart), also when the registry
 * redirects blobs to another host, and the post step leaves the trust directories as it found them.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runAction, useInspectionLab, waitFor, type ActionRun, type Lab, type Proxy } from '../../support/inspection/index.js';
import {
  loopbackNamesResolve,
  pushImage,
  startRedirectingFront,
  startRegistry,
  treeSnapshot,
  writeRegistryTls,
  type RedirectingFront,
  type Registry,
  type RegistryTls,
} from '../../support/registry/index.js';

const TRUST_ROOTS = ['/etc/docker/certs.d', '/etc/containers/certs.d'];
const lab = useInspectionLab({ mitmproxy: true, squid: true });
// Root (daemons, certs.d) and the loopback registry names scripts/setup.sh maps in /etc/hosts: missing, the file
// fails at once with the reason rather than skipping.
const usable = process.getuid?.() === 0 && loopbackNamesResolve();
if (!usable) throw new Error('registry e2e needs root and the loopback names vm and runsc in /etc/hosts: run scripts/setup.sh');
const maybe = describe;

let tls: RegistryTls;
let open: Registry;
let authed: Registry;
let front: RedirectingFront;
const stops: (() => Promise<void>)[] = [];
const pending = new Set<ActionRun>();

beforeAll(async () => {
  if (!usable) return;
  const l = lab();
  tls = writeRegistryTls(l.pki, l.scratch('registry-tls'));
  open = await startRegistry({ name: 'registry-open', dir: l.dir, tls });
  stops.push(() => open.stop());
  authed = await startRegistry({ name: 'registry-auth', dir: l.dir, tls, basicAuth: { user: 'pusher', password: 'push-secret' } });
  stops.push(() => authed.stop());
  front = await startRedirectingFront(open, tls, l.scratch('front'));
  stops.push(() => front.stop());
  const work = l.scratch('images');
  await pushImage(open, tls, work, 'base:1', 'open base\n');
  await pushImage(authed, tls, work, 'base:1', 'authed base\n');
}, 120000);

afterEach(async () => {
  for (const main of pending) await runAction('post', { state: main.state, runnerTemp: main.runnerTemp, timeoutMs: 60000 });
  pending.clear();
}, 120000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
}, 60000);

/** `buildah pull` with its own storage under the lab, through the proxy; never throws. */
function buildahPull(l: Lab, proxy: Proxy, ref: string, creds?: { user: string; password: string }): Promise<{ code: number; output: string }> {
  const store = l.scratch('buildah');
  const args = ['--root', join(store, 'root'), '--runroot', join(store, 'runroot'), '--storage-driver', 'vfs', 'pull', '--quiet', ...(creds ? ['--creds', `${creds.user}:${creds.password}`] : []), ref];
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

function changedPaths(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((p) => before[p] !== after[p]).sort();
}

async function withAction(l: Lab, caFile: string, registries: string, body: () => Promise<void>): Promise<void> {
  const before = treeSnapshot(TRUST_ROOTS);
  const main = await runAction('main', { inputs: { 'ca-file': caFile, when: 'always', registries }, env: l.jobEnv(), timeoutMs: 60000 });
  pending.add(main);
  expect(main.exitCode).toBe(0);
  expect(main.outputs.injected).toBe('true');
  await body();
  pending.delete(main);
  const post = await runAction('post', { state: main.state, runnerTemp: main.runnerTemp, timeoutMs: 60000 });
  expect(post.exitCode).toBe(0);
  expect(post.stdout).not.toMatch(/::warning::/);
  expect(changedPaths(before, treeSnapshot(TRUST_ROOTS))).toEqual([]);
}

maybe('buildah pulling from a registry behind TLS inspection', () => {
  const cases: { proxy: 'mitmproxy' | 'squid'; registry: () => Registry; ca: (l: Lab) => string }[] = [
    { proxy: 'mitmproxy', registry: () => authed, ca: (l) => l.pki.paths.orgCa },
    { proxy: 'squid', registry: () => open, ca: (l) => l.pki.paths.orgChain },
  ];

  test.each(cases)('through $proxy: x509 first, passes with the org CA under /etc/containers/certs.d, post step restores it', async ({ proxy, registry, ca }) => {
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
      expect(await waitFor(() => p.saw(`${reg.host}/v2/base/`), 5000)).toBe(true);
    });
  }, 240000);

  test('a blob redirect to another host is covered by the registry host\'s certs.d alone', async () => {
    const l = lab();
    const p = l.mitmproxy!;
    await withAction(l, l.pki.paths.orgCa, front.host, async () => {
      const redirects = front.redirects();
      const passed = await buildahPull(l, p, `${front.host}/base:1`);
      expect(`exit ${passed.code}: ${passed.output.trim().slice(-300)}`).toMatch(/^exit 0/);
      expect(front.redirects()).toBeGreaterThan(redirects);
      expect(await waitFor(() => p.saw(`${front.cdnHost}/v2/base/blobs/`), 5000)).toBe(true);
      expect(treeSnapshot([`/etc/containers/certs.d/${front.cdnHost}`])).toEqual({ [`/etc/containers/certs.d/${front.cdnHost}`]: 'absent' });
    });
  }, 240000);
});
