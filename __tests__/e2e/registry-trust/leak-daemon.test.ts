/**
 * Issue 12, part 3: `leak-check myapp:1.2` against a real Docker Engine (Debian docker.io, 20.10) reached through
 * DOCKER_HOST: an image built by that daemon with the CA in a layer is found, a clean one passes, and with no daemon
 * answering the check fails with one clear line.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintRoot } from '../../support/pki.js';
import { bundle, runCli } from '../leak/support.js';
import { startDockerd, type DockerEngine } from '../../support/registry/index.js';

// Root (daemons, certs.d) and the loopback registry names scripts/setup.sh maps in /etc/hosts: missing, the file
// fails at once with the reason rather than skipping.
const usable = process.getuid?.() === 0;
if (!usable)
  throw new Error('registry e2e needs root and the loopback names vm and runsc in /etc/hosts: run scripts/setup.sh');
const maybe = describe;

let dir: string;
let engine: DockerEngine;
let dist: string;
let caFile: string;

beforeAll(async () => {
  if (!usable) return;
  dir = mkdtempSync(join(tmpdir(), 'org-ca-leak-daemon-'));
  dist = await bundle();
  const ca = mintRoot({ cn: 'Daemon Test Org CA', org: 'Example Org' });
  caFile = join(dir, 'org-ca.pem');
  writeFileSync(caFile, ca.certPem);
  engine = await startDockerd(join(dir, 'dockerd'), {});
  for (const [tag, leak] of [
    ['leaky', true],
    ['clean', false],
  ] as const) {
    const ctx = join(dir, `ctx-${tag}`);
    rmSync(ctx, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'app.txt'), 'app\n');
    if (leak) writeFileSync(join(ctx, 'org.crt'), readFileSync(caFile));
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM scratch\nCOPY app.txt /app/app.txt\n${leak ? 'COPY org.crt /usr/local/share/ca-certificates/org.crt\n' : ''}`,
    );
    const built = await engine.docker(['build', '--network', 'host', '-t', `org-ca-daemon-test:${tag}`, ctx]);
    if (built.code !== 0) throw new Error(`docker build failed: ${built.output}`);
  }
}, 180000);

afterAll(async () => {
  if (!usable) return;
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60000);

maybe('leak-check of a local image in a real Docker Engine (docker save)', () => {
  test('an image with the CA in a layer is found, through DOCKER_HOST', () => {
    const run = runCli(dist, ['leak-check', 'org-ca-daemon-test:leaky', '--ca', caFile, '--json'], {
      DOCKER_HOST: `unix://${engine.socket}`,
    });
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { findings: { path: string; visibility: string }[]; unscanned: unknown[] };
    expect(report.unscanned).toEqual([]);
    expect(report.findings.map((f) => `${f.path} ${f.visibility}`)).toContain(
      '/usr/local/share/ca-certificates/org.crt final',
    );
  }, 120000);

  test('a clean image passes', () => {
    const run = runCli(dist, ['leak-check', 'org-ca-daemon-test:clean', '--ca', caFile], {
      DOCKER_HOST: `unix://${engine.socket}`,
    });
    expect(`${run.status} ${run.stderr}`).toBe('0 ');
  }, 120000);

  test('no daemon answering fails with one clear line', () => {
    const run = runCli(dist, ['leak-check', 'org-ca-daemon-test:clean', '--ca', caFile], {
      DOCKER_HOST: `unix://${join(dir, 'nothing-here.sock')}`,
    });
    expect(run.status).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/docker save org-ca-daemon-test:clean' failed .*Cannot connect to the Docker daemon/);
  }, 120000);
});
