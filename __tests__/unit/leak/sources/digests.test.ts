/**
 * OCI layouts whose descriptors use sha512 (image-spec descriptor.md registers sha256 and sha512): every blob is
 * verified with its own algorithm, and an algorithm org-ca cannot verify is said to be one, not called damage.
 * Written by hand, as the spec lays a layout out: no producer here writes sha512 layouts (skopeo 1.9 cannot).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintRoot } from '../../../support/pki.js';
import { writeOciLayout } from '../../../e2e/leak/layout.js';
import { checkImage } from '../../../../src/leak/check.js';
import { digestAlgorithm, digestOfBlobPath, isVerifiableDigest } from '../../../../src/leak/digest.js';

const org = mintRoot({ cn: 'Digest Test Org Root', org: 'Org' });
const spec = { certs: [org], fingerprints: [] };
let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), 'org-ca-digests-'))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function layout(name: string, files: Record<string, string>, algorithm: 'sha256' | 'sha512', tamper = false): string {
  return writeOciLayout(join(work, name), [files], { algorithm, ...(tamper ? { tamperLayer: 0 } : {}) });
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
