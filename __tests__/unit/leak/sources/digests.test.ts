/**
 * OCI layouts whose descriptors use sha512 (image-spec descriptor.md registers sha256 and sha512): every blob is
 * verified with its own algorithm, and an algorithm org-ca cannot verify is said to be one, not called damage.
 * Written by hand, as the spec lays a layout out: no producer here writes sha512 layouts (skopeo 1.9 cannot).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mintRoot } from '../../../support/pki.js';
import { tarOf } from '../../../e2e/leak/layout.js';
import { checkImage } from '../../../../src/leak/check.js';
import { digestAlgorithm, digestOfBlobPath, isVerifiableDigest } from '../../../../src/leak/digest.js';

const org = mintRoot({ cn: 'Digest Test Org Root', org: 'Org' });
const spec = { certs: [org], fingerprints: [] };
let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), 'org-ca-digests-'))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An OCI layout, every descriptor in `algorithm`; `tamper` changes a layer after its digest was taken. */
function layout(name: string, files: Record<string, string>, algorithm: 'sha256' | 'sha512', tamper = false): string {
  const dir = join(work, name);
  const put = (bytes: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    const hex = createHash(algorithm).update(bytes).digest('hex');
    mkdirSync(join(dir, 'blobs', algorithm), { recursive: true });
    writeFileSync(join(dir, 'blobs', algorithm, hex), bytes);
    return { mediaType, digest: `${algorithm}:${hex}`, size: bytes.length };
  };
  const tar = tarOf(files);
  const layer = put(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip');
  if (tamper) writeFileSync(join(dir, 'blobs', algorithm, layer.digest.split(':')[1]!), gzipSync(tarOf({ x: 'y' })));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [`${algorithm}:${createHash(algorithm).update(tar).digest('hex')}`] },
        history: [{ created_by: 'COPY . /app' }],
      }),
    ),
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config,
        layers: [layer],
      }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
    }),
  );
  return dir;
}

test('a sha512 layout is read and verified like a sha256 one: clean when clean', async () => {
  const report = await checkImage({ image: `oci:${layout('clean512', { 'app/run': 'hi\n' }, 'sha512')}`, spec });
  expect(report.unscanned).toEqual([]);
  expect(report.findings).toEqual([]);
  expect(report.stats.layers).toBe(1);
});

test('the CA in a sha512 layout is found', async () => {
  const report = await checkImage({ image: layout('leak512', { 'etc/ssl/org.pem': org.certPem }, 'sha512'), spec });
  expect(report.unscanned).toEqual([]);
  expect(report.findings.map((f) => [f.path, f.visibility])).toEqual([['/etc/ssl/org.pem', 'final']]);
});

test('a sha512 blob whose bytes were changed is reported with its sha512 digest', async () => {
  const report = await checkImage({ image: layout('bad512', { 'app/run': 'hi\n' }, 'sha512', true), spec });
  expect(report.unscanned.map((u) => u.reason).join('\n')).toMatch(
    /blob digest is sha512:[0-9a-f]{128}, expected sha512:/,
  );
});

test.each([
  ['sha256:' + 'a'.repeat(64), 'sha256', true],
  ['sha512:' + 'b'.repeat(128), 'sha512', true],
  ['sha512:' + 'b'.repeat(64), 'sha512', false],
  ['blake3:' + 'c'.repeat(64), undefined, false],
  ['sha256:' + 'A'.repeat(64), 'sha256', false],
])('%s: algorithm %s, verifiable %s', (digest, algorithm, verifiable) => {
  expect(digestAlgorithm(digest)).toBe(algorithm);
  expect(isVerifiableDigest(digest)).toBe(verifiable);
});

test('blob paths of both algorithms name their digest', () => {
  expect(digestOfBlobPath(`blobs/sha512/${'d'.repeat(128)}`)).toBe(`sha512:${'d'.repeat(128)}`);
  expect(digestOfBlobPath(`blobs/sha256/${'d'.repeat(64)}`)).toBe(`sha256:${'d'.repeat(64)}`);
  expect(digestOfBlobPath(`blobs/sha512/${'d'.repeat(64)}`)).toBeUndefined();
});
