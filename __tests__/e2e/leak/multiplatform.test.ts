/**
 * Multi-platform image indexes and BuildKit attestation manifests, hand-assembled with real bytes and digests (buildah
 * 1.28 here makes neither), checked by the bundled CLI in three containers of the same index: an OCI layout directory,
 * its tar (an OCI archive), and a Docker 25+ `docker save` layout whose manifest.json lists only the host platform.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { mintRoot } from '../../support/pki.js';
import { archive, Blobs, type Descriptor, type LayerSpec } from './layout.js';
import { bundle, type Run, checkImage } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const orgFp = sha256Hex(org.der);
// A public bundle in every image: the check has to read past 140-odd certificates without a false alarm.
const publicBundle = readFileSync('/etc/ssl/certs/ca-certificates.crt');
let work: string;
let cli: string;
let caFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-leak-multi-'));
  caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, org.certPem);
  cli = await bundle();
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const CLEAN_DOCKERFILE =
  'FROM debian:bookworm AS build\nRUN --mount=type=secret,id=org_ca with-org-ca make\nFROM debian:bookworm\nCOPY --from=build /out /app\n';
const LEAKY_DOCKERFILE = `FROM debian:bookworm\nCOPY <<EOF /usr/local/share/ca-certificates/org.crt\n${org.certPem}EOF\nRUN update-ca-certificates\n`;

/** SLSA provenance v0.2 as BuildKit writes it in mode=max (https://docs.docker.com/build/metadata/attestations/slsa-definitions/). */
function provenanceV02(subject: Descriptor, args: Record<string, string>, dockerfile: string): object {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [
      { name: 'pkg:docker/example.com/app@1?platform=linux%2Farm64', digest: { sha256: subject.digest.slice(7) } },
    ],
    predicate: {
      builder: { id: 'https://github.com/example/app/actions/runs/1' },
      buildType: 'https://mobyproject.org/buildkit@v1',
      materials: [{ uri: 'pkg:docker/debian@bookworm?platform=linux%2Farm64', digest: { sha256: '0'.repeat(64) } }],
      invocation: {
        configSource: { entryPoint: 'Dockerfile' },
        parameters: {
          frontend: 'dockerfile.v0',
          args: { ...args, source: 'docker/dockerfile:1' },
          locals: [{ name: 'context' }, { name: 'dockerfile' }],
        },
        environment: { platform: 'linux/amd64' },
      },
      metadata: {
        buildInvocationID: 'x7q2',
        buildStartedOn: '2026-01-01T00:00:00Z',
        buildFinishedOn: '2026-01-01T00:01:00Z',
        completeness: { parameters: true, environment: true, materials: false },
        reproducible: false,
        'https://mobyproject.org/buildkit@v1#metadata': {
          source: {
            locations: {},
            infos: [
              { filename: 'Dockerfile', language: 'Dockerfile', data: Buffer.from(dockerfile).toString('base64') },
            ],
          },
        },
      },
    },
  };
}

/** SLSA provenance v1 (BuildKit `--attest type=provenance,version=v1`). */
function provenanceV1(subject: Descriptor, args: Record<string, string>, dockerfile: string): object {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v1',
    subject: [
      { name: 'pkg:docker/example.com/app@1?platform=linux%2Farm64', digest: { sha256: subject.digest.slice(7) } },
    ],
    predicate: {
      buildDefinition: {
        buildType: 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
        externalParameters: {
          configSource: { path: 'Dockerfile' },
          request: {
            frontend: 'dockerfile.v0',
            args: { ...args },
            locals: [{ name: 'context' }, { name: 'dockerfile' }],
          },
        },
        internalParameters: { builderPlatform: 'linux/amd64' },
        resolvedDependencies: [
          { uri: 'pkg:docker/debian@bookworm?platform=linux%2Farm64', digest: { sha256: '0'.repeat(64) } },
        ],
      },
      runDetails: {
        builder: { id: '' },
        metadata: {
          invocationID: 'x7q2',
          startedOn: '2026-01-01T00:00:00Z',
          finishedOn: '2026-01-01T00:01:00Z',
          buildkit_completeness: { request: true, resolvedDependencies: true },
          buildkit_metadata: {
            source: {
              locations: {},
              infos: [
                { filename: 'Dockerfile', language: 'Dockerfile', data: Buffer.from(dockerfile).toString('base64') },
              ],
            },
          },
        },
      },
    },
  };
}

const SPDX = {
  _type: 'https://in-toto.io/Statement/v0.1',
  predicateType: 'https://spdx.dev/Document',
  subject: [],
  predicate: { spdxVersion: 'SPDX-2.3', name: 'sbom', packages: [{ name: 'busybox', versionInfo: '1.36' }] },
};

interface Variant {
  /** What the arm64 platform's app layer holds besides the app. */
  readonly arm64Extra?: Record<string, string | Buffer>;
  /** Which provenance the arm64 attestation carries, with which build args and Dockerfile. */
  readonly provenance?: {
    readonly version: 'v0.2' | 'v1';
    readonly args: Record<string, string>;
    readonly dockerfile: string;
  };
  /** Leave the arm64 app layer's blob out of the layout. */
  readonly dropArm64Layer?: boolean;
}

interface Built {
  readonly arm64: Descriptor;
  readonly arm64Layer: Descriptor;
  readonly amd64: Descriptor;
  /** The in-toto layer of the arm64 attestation manifest (the provenance). */
  readonly arm64Provenance: Descriptor;
}

type Format = 'oci-dir' | 'oci-archive' | 'docker-save-25';

/** One index: linux/amd64 and linux/arm64 sharing a base layer, one attestation manifest per platform. */
function assemble(name: string, format: Format, variant: Variant): { path: string; built: Built } {
  const blobs = new Blobs();
  const compress = format !== 'docker-save-25';
  const base: LayerSpec = {
    files: { 'etc/ssl/certs/ca-certificates.crt': publicBundle, 'etc/os-release': 'ID=debian\n' },
    createdBy: 'ADD rootfs.tar.xz / # buildkit',
  };
  const app = (arch: string, extra: Record<string, string | Buffer> = {}): LayerSpec => ({
    files: { 'app/run': `#!/bin/sh\necho app for ${arch}\n`, ...extra },
    createdBy: 'COPY /out /app # buildkit',
  });
  const amd64 = blobs.image({ architecture: 'amd64', os: 'linux' }, [base, app('amd64')], compress);
  const arm64 = blobs.image({ architecture: 'arm64', os: 'linux' }, [base, app('arm64', variant.arm64Extra)], compress);
  const p = variant.provenance ?? {
    version: 'v0.2',
    args: { 'build-arg:VERSION': '1.2.3' },
    dockerfile: CLEAN_DOCKERFILE,
  };
  const statement = (subject: Descriptor) =>
    p.version === 'v1' ? provenanceV1(subject, p.args, p.dockerfile) : provenanceV02(subject, p.args, p.dockerfile);
  const cleanProvenance = provenanceV02(amd64.descriptor, { 'build-arg:VERSION': '1.2.3' }, CLEAN_DOCKERFILE);
  const amd64Att = blobs.attestation(amd64.descriptor, [
    { predicateType: 'https://slsa.dev/provenance/v0.2', statement: cleanProvenance },
    { predicateType: 'https://spdx.dev/Document', statement: SPDX },
  ]);
  const arm64Att = blobs.attestation(arm64.descriptor, [
    { predicateType: `https://slsa.dev/provenance/${p.version}`, statement: statement(arm64.descriptor) },
    { predicateType: 'https://spdx.dev/Document', statement: SPDX },
  ]);
  const index = blobs.index([amd64.descriptor, arm64.descriptor, amd64Att.descriptor, arm64Att.descriptor]);
  const dir = join(work, `${name}-${format}`);
  blobs.write(dir, index, {
    omit: variant.dropArm64Layer ? [arm64.layers[1]!.digest] : [],
    // docker save (containerd image store) lists only the platform the daemon runs in manifest.json.
    ...(format === 'docker-save-25' ? { dockerManifest: { config: amd64.config, layers: amd64.layers } } : {}),
  });
  const built = {
    arm64: arm64.descriptor,
    arm64Layer: arm64.layers[1]!,
    amd64: amd64.descriptor,
    arm64Provenance: arm64Att.layers[0]!,
  };
  return { path: format === 'oci-dir' ? dir : archive(dir, `${dir}.tar`), built };
}

function check(path: string, extra: string[] = ['--ca', caFile]): { run: Run; report: Report } {
  return checkImage(cli, path, extra);
}

const FORMATS: Format[] = ['oci-dir', 'oci-archive', 'docker-save-25'];

describe.each(FORMATS)('%s', (format) => {
  test('a clean index (both platforms clean, attestations without the CA) passes', () => {
    const { path } = assemble('clean', format, {});
    const { run, report } = check(path);
    expect(report.unscanned).toEqual([]);
    expect(report.findings).toEqual([]);
    expect(run.status).toBe(0);
    // Both platform images were planned (the attestation manifests are not images), and their layers read.
    expect(report.stats.images).toBe(2);
    expect(report.stats.files).toBeGreaterThanOrEqual(4);
    // Fingerprint-only mode parses every certificate of both platforms' public bundles: still no false alarm.
    expect(check(path, ['--fingerprint', orgFp]).run.status).toBe(0);
  });

  test('a leak only in the arm64 layer is found, and reported with the arm64 platform', () => {
    const { path, built } = assemble('arm64', format, {
      arm64Extra: { 'usr/local/share/ca-certificates/org.crt': org.certPem },
    });
    const { run, report } = check(path);
    expect(report.unscanned).toEqual([]);
    expect(report.findings).toHaveLength(1);
    const f = report.findings[0]!;
    expect(f).toMatchObject({
      kind: 'pem',
      fingerprint: orgFp,
      path: '/usr/local/share/ca-certificates/org.crt',
      visibility: 'final',
    });
    expect(f.image).toContain('linux/arm64');
    expect(f.image).not.toContain('amd64');
    expect(f.layer).toMatchObject({ index: 1, instruction: 'COPY /out /app # buildkit' });
    // The digest reported is the blob's as stored (gzip, or the raw tar in the docker save layout).
    expect(f.layer!.digest).toBe(built.arm64Layer.digest);
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain(org.certPem.split('\n')[2]!);
  });

  test('fingerprint only: the arm64 leak is still found', () => {
    const { path } = assemble('arm64-fp', format, { arm64Extra: { 'opt/org.der': org.der } });
    const { run, report } = check(path, ['--fingerprint', orgFp]);
    expect(report.findings.map((f) => `${f.kind}@${f.path}@${f.image?.includes('linux/arm64')}`)).toEqual([
      'der@/opt/org.der@true',
    ]);
    expect(run.status).toBe(1);
  });

  test.each([
    [
      'v0.2: invocation.parameters.args build-arg:ORG_CA',
      { version: 'v0.2' as const, args: { 'build-arg:ORG_CA': org.certPem }, dockerfile: CLEAN_DOCKERFILE },
    ],
    [
      'v1: buildDefinition.externalParameters.request.args',
      { version: 'v1' as const, args: { 'build-arg:ORG_CA': org.certPem }, dockerfile: CLEAN_DOCKERFILE },
    ],
    [
      'v0.2: only in the base64 Dockerfile of the build metadata',
      { version: 'v0.2' as const, args: {}, dockerfile: LEAKY_DOCKERFILE },
    ],
    [
      'v1: only in the base64 Dockerfile of buildkit_metadata.source.infos',
      { version: 'v1' as const, args: {}, dockerfile: LEAKY_DOCKERFILE },
    ],
  ])('a leak only in the arm64 provenance attestation (%s) is found', (_name, provenance) => {
    const { path, built } = assemble(`att-${provenance.version}-${Object.keys(provenance.args).length}`, format, {
      provenance,
    });
    const { run, report } = check(path);
    expect(report.unscanned).toEqual([]);
    expect(report.findings.length).toBeGreaterThanOrEqual(1);
    // Every finding is in the provenance blob, none in an image layer (the layers are clean).
    for (const f of report.findings) {
      expect(f.fingerprint).toBe(orgFp);
      expect(f.layer).toBeUndefined();
      expect(f.path).toBe(`blobs/sha256/${built.arm64Provenance.digest.slice(7)}`);
      // Named as the arm64 platform's provenance attestation, not as an anonymous blob.
      expect(f.image).toMatch(
        new RegExp(
          `attestation for linux/arm64 \\(https://slsa\\.dev/provenance/${provenance.version.replace('.', '\\.')}\\)$`,
        ),
      );
      expect(f.message).toContain('BuildKit records build arguments and the Dockerfile there');
    }
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain(org.certPem.split('\n')[2]!);
    // The same in fingerprint-only mode.
    const fp = check(path, ['--fingerprint', orgFp]);
    expect(fp.report.findings.length).toBeGreaterThanOrEqual(1);
    expect(fp.run.status).toBe(1);
  });

  test('a missing blob referenced by the arm64 manifest fails closed', () => {
    const { path, built } = assemble('missing', format, { dropArm64Layer: true });
    const { run, report } = check(path);
    expect(run.status).toBe(1);
    expect(report.findings).toEqual([]);
    expect(report.unscanned).toHaveLength(1);
    expect(report.unscanned[0]!.what).toContain('linux/arm64');
    expect(report.unscanned[0]!.what).toContain(built.arm64Layer.digest);
    expect(report.unscanned[0]!.reason).toMatch(/missing/);
  });
});
