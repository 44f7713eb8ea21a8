/**
 * Every transport spelling against layouts written by the real tools (umoci builds an image whose gzip layer holds
 * the CA; skopeo copies it into oci:, oci-archive:, docker-archive: and dir:). The spelling that matches finds the CA
 * in the layer; a spelling that does not match, and a layout that lost its index.json, fail with the fix, never
 * passing as a root file system whose gzip layers were never opened.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintRoot } from '../../support/pki.js';
import { bundle, checkImage, runCli } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
let work: string;
let cli: string;
let caFile: string;
const p: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-transports-'));
  caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, org.certPem);
  const layout = join(work, 'umoci');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:latest`]);
  const bundleDir = join(work, 'bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, bundleDir], { stdio: 'ignore' });
  mkdirSync(join(bundleDir, 'rootfs/usr/local/share/ca-certificates'), { recursive: true });
  writeFileSync(join(bundleDir, 'rootfs/usr/local/share/ca-certificates/org.crt'), org.certPem);
  execFileSync('umoci', ['repack', '--image', `${layout}:latest`, bundleDir], { stdio: 'ignore' });
  const skopeo = (from: string, to: string): void => {
    execFileSync('skopeo', ['copy', '--quiet', from, to], { stdio: 'ignore', timeout: 120_000 });
  };
  p.oci = join(work, 'oci');
  skopeo(`oci:${layout}:latest`, `oci:${p.oci}:v1`);
  p.ociArchive = join(work, 'oci-archive.tar');
  skopeo(`oci:${layout}:latest`, `oci-archive:${p.ociArchive}:v1`);
  p.dockerArchive = join(work, 'docker-archive.tar');
  skopeo(`oci:${layout}:latest`, `docker-archive:${p.dockerArchive}:example.com/app:1`);
  p.dir = join(work, 'dir');
  skopeo(`oci:${layout}:latest`, `dir:${p.dir}`);
  p.noIndex = join(work, 'no-index');
  cpSync(p.oci, p.noIndex, { recursive: true });
  rmSync(join(p.noIndex, 'index.json'));
  cli = await bundle();
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('the tools wrote what each transport names (gzip layers in the OCI forms, blobs named by hex in dir:)', () => {
  expect(readdirSync(p.oci!).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  expect(readdirSync(p.dir!)).toContain('version');
  expect(readdirSync(p.dir!)).toContain('manifest.json');
});

test.each([
  ['oci:DIR', () => `oci:${p.oci}`],
  ['oci:DIR:tag', () => `oci:${p.oci}:v1`],
  ['a bare OCI layout', () => p.oci!],
  ['oci-archive:FILE', () => `oci-archive:${p.ociArchive}`],
  ['oci-archive:FILE:tag', () => `oci-archive:${p.ociArchive}:v1`],
  ['docker-archive:FILE', () => `docker-archive:${p.dockerArchive}`],
  ['docker-archive:FILE:name:tag', () => `docker-archive:${p.dockerArchive}:example.com/app:1`],
  ['dir:DIR', () => `dir:${p.dir}`],
])('%s: the CA in the layer is found', (_name, image) => {
  const { run, report } = checkImage(cli, image(), ['--ca', caFile]);
  expect(report.unscanned).toEqual([]);
  expect(report.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`)).toEqual([
    'pem@/usr/local/share/ca-certificates/org.crt:final',
  ]);
  expect(run.status).toBe(1);
});

test.each([
  [
    'oci: on the OCI archive',
    () => `oci:${p.ociArchive}`,
    /is an OCI archive \(a tar with index\.json\): write oci-archive:/,
  ],
  [
    'oci-archive: on the layout directory',
    () => `oci-archive:${p.oci}`,
    /is an OCI image layout directory: write oci:/,
  ],
  ['docker-archive: on the OCI archive', () => `docker-archive:${p.ociArchive}`, /write oci-archive:/],
  [
    'oci-archive: on the docker archive',
    () => `oci-archive:${p.dockerArchive}`,
    /is a docker save archive .*: write docker-archive:/,
  ],
  ['dir: on the OCI layout', () => `dir:${p.oci}`, /write oci:/],
  ['oci: on the dir: directory', () => `oci:${p.dir}`, /write dir:/],
  ['rootfs: on the OCI layout', () => `rootfs:${p.oci}`, /rootfs: expects a root file system.*write oci:/],
  ['a tag the layout does not hold', () => `oci:${p.oci}:v2`, /holds no image 'v2' \(it holds: v1\)/],
  [
    'the layout without index.json, bare',
    () => p.noIndex!,
    /with oci-layout but no index\.json: .*compressed layers would be read as opaque files/,
  ],
  ['the layout without index.json, as rootfs:', () => `rootfs:${p.noIndex}`, /no index\.json/],
])('%s: exit 2 (an input error), one line with the fix', (_name, image, message) => {
  const r = runCli(cli, ['leak-check', image(), '--ca', caFile]);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
});

test('--sarif and --report are written when the input cannot be checked', () => {
  const sarif = join(work, 'err.sarif');
  const report = join(work, 'err.json');
  const r = runCli(cli, ['leak-check', p.noIndex!, '--ca', caFile, '--sarif', sarif, '--report', report]);
  expect(r.status).toBe(2);
  const s = JSON.parse(readFileSync(sarif, 'utf8'));
  expect(s.version).toBe('2.1.0');
  expect(s.runs[0].invocations[0].executionSuccessful).toBe(false);
  expect(s.runs[0].invocations[0].toolExecutionNotifications[0].message.text).toMatch(/no index\.json/);
  expect(JSON.parse(readFileSync(report, 'utf8')).error).toMatch(/no index\.json/);
});
