/**
 * What an `image` input names and whether it is there: every shape an input can take, with every transport
 * spelling. A spelling that matches what is on disk opens; every other one is a one-line ImageInputError that says
 * what was found and what to write instead. Real files (hand-assembled tar, gzip, OCI layouts) in a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkImage } from '../../../../src/leak/check.js';
import {
  ImageInputError,
  openImageInput,
  parseImageInput,
  type OpenedInput,
} from '../../../../src/leak/sources/input.js';
import { makeInputShapes, type InputShapes } from '../../../e2e/leak/inputs.js';

let work: string;
let s: InputShapes;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-input-'));
  s = makeInputShapes(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function open(spelling: string): OpenedInput {
  const input = parseImageInput(spelling);
  if (input.kind !== 'path') throw new Error(`not a path: ${spelling}`);
  return openImageInput(input);
}

function openError(spelling: string): string {
  try {
    open(spelling);
  } catch (error) {
    expect(error).toBeInstanceOf(ImageInputError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error(`'${spelling}' opened`);
}

const describeOpened = (o: OpenedInput): string =>
  o.kind === 'image' ? `image ${o.layouts.join('+')}${o.ref ? ` ref=${o.ref}` : ''}` : o.kind;

describe('spellings that match what is there open as that', () => {
  test.each<[string, (s: InputShapes) => string, string]>([
    ['bare OCI layout directory', (s) => s.ociDir, 'image oci'],
    ['oci:DIR', (s) => `oci:${s.ociDir}`, 'image oci'],
    ['oci:DIR:tag (the reference after the path)', (s) => `oci:${s.ociDir}:1`, 'image oci ref=1'],
    ['bare OCI archive', (s) => s.ociTar, 'image oci'],
    ['oci-archive:FILE', (s) => `oci-archive:${s.ociTar}`, 'image oci'],
    ['bare docker save archive', (s) => s.legacyTar, 'image docker-save'],
    ['docker-archive:FILE', (s) => `docker-archive:${s.legacyTar}`, 'image docker-save'],
    [
      'docker-archive:FILE:name:tag',
      (s) => `docker-archive:${s.legacyTar}:example.com/app:1`,
      'image docker-save ref=example.com/app:1',
    ],
    ['an extracted docker save directory, bare', (s) => s.legacyDir, 'image docker-save'],
    ['dir:DIR (skopeo dir transport)', (s) => `dir:${s.skopeoDir}`, 'image dir'],
    ['a skopeo dir, bare', (s) => s.skopeoDir, 'image dir'],
    ['rootfs:DIR', (s) => `rootfs:${s.plainDir}`, 'rootfs-dir'],
    ['rootfs:EMPTY-DIR (an empty root file system, said so)', (s) => `rootfs:${s.emptyDir}`, 'rootfs-dir'],
    ['rootfs:FILE.tar (docker export)', (s) => `rootfs:${s.plainTar}`, 'rootfs-tar'],
  ])('%s', (_name, spelling, expected) => {
    expect(describeOpened(open(spelling(s)))).toBe(expected);
  });
});

describe('everything else is a one-line error naming what was found and the fix', () => {
  test.each<[string, (s: InputShapes) => string, RegExp]>([
    [
      'a bare directory that is not an image',
      (s) => s.plainDir,
      /is a directory that holds no image .*: to check it as a root file system, write rootfs:.*plain\.$/,
    ],
    [
      'an empty directory',
      (s) => s.emptyDir,
      /is an empty directory: an export that failed or did not finish leaves it empty \(e\.g\. .*type=oci,tar=false.*\): rerun the export/,
    ],
    [
      'oci: on an empty directory',
      (s) => `oci:${s.emptyDir}`,
      /oci: expects an OCI image layout directory .* is an empty directory/,
    ],
    [
      'an OCI layout without index.json',
      (s) => s.noIndexDir,
      /with oci-layout but no index\.json: without index\.json nothing says which blobs are layers, so compressed layers would be read as opaque files/,
    ],
    ['oci: on a layout without index.json', (s) => `oci:${s.noIndexDir}`, /no index\.json.*re-export the image/],
    [
      'an OCI archive without index.json',
      (s) => s.noIndexTar,
      /a tar with oci-layout but neither index\.json nor manifest\.json/,
    ],
    [
      'oci: on an OCI archive',
      (s) => `oci:${s.ociTar}`,
      /oci: expects an OCI image layout directory .* is an OCI archive .*: write oci-archive:.*oci\.tar\.$/,
    ],
    [
      'oci-archive: on a layout directory',
      (s) => `oci-archive:${s.ociDir}`,
      /oci-archive: expects a tar file .* is an OCI image layout directory: write oci:/,
    ],
    [
      'oci-archive: on a docker save archive',
      (s) => `oci-archive:${s.legacyTar}`,
      /is a docker save archive .*: write docker-archive:/,
    ],
    [
      'docker-archive: on an OCI archive',
      (s) => `docker-archive:${s.ociTar}`,
      /docker-archive: expects a docker save tar file .* is an OCI archive .*: write oci-archive:/,
    ],
    [
      'docker-archive: on a layout directory',
      (s) => `docker-archive:${s.ociDir}`,
      /is an OCI image layout directory: write oci:/,
    ],
    [
      'dir: on an OCI layout',
      (s) => `dir:${s.ociDir}`,
      /dir: expects a directory written by .* is an OCI image layout directory: write oci:/,
    ],
    ['oci: on a skopeo dir', (s) => `oci:${s.skopeoDir}`, /is a dir: transport directory .*: write dir:/],
    [
      'rootfs: on an OCI layout (its gzip layers would be opaque files)',
      (s) => `rootfs:${s.ociDir}`,
      /rootfs: expects a root file system.* is an OCI image layout directory: write oci:/,
    ],
    ['rootfs: on an OCI archive', (s) => `rootfs:${s.ociTar}`, /is an OCI archive .*: write oci-archive:/],
    ['oci: on a plain directory', (s) => `oci:${s.plainDir}`, /holds no image .*write rootfs:/],
    ['a bare tar that holds no image', (s) => s.plainTar, /is a tar archive that holds no image .*write rootfs:/],
    [
      'a gzip-compressed archive',
      (s) => s.gzipTar,
      /is a gzip-compressed file: decompress it first \(e\.g\. gunzip -k\)/,
    ],
    ['a text file', (s) => s.textFile, /is a file that is not a tar archive: expected a docker save or OCI archive/],
    [
      'oci:DIR:tag whose path does not exist',
      () => 'oci:/nonexistent/layout:1',
      /'\/nonexistent\/layout:1' does not exist \(from 'oci:\/nonexistent\/layout:1'\): expected an OCI image layout directory/,
    ],
    ['a transport with no path', () => 'oci-archive:', /names no path: expected oci-archive:PATH/],
  ])('%s', (_name, spelling, expected) => {
    expect(openError(spelling(s))).toMatch(expected);
  });

  test.each([
    [
      'docker://example.com/app:1',
      /is an image in a registry; the check reads local files only: copy it first \(e\.g\. skopeo copy docker:\/\/example\.com\/app:1 oci-archive:image\.tar\)/,
    ],
    ['containers-storage:localhost/app:1', /podman save --format oci-archive -o image\.tar localhost\/app:1/],
    [
      '/nonexistent/image.tar',
      /^'\/nonexistent\/image\.tar' does not exist: expected a docker save or OCI archive, an OCI layout directory, rootfs:DIR/,
    ],
    // A bare archive name in the current directory is a typo of a file, never sent to a Docker daemon.
    ['nope.tar', /^'nope\.tar' does not exist: expected a docker save or OCI archive/],
    ['release.tar.gz', /^'release\.tar\.gz' does not exist/],
    ['image.oci', /^'image\.oci' does not exist/],
  ])('%s', (spelling, expected) => {
    expect(() => parseImageInput(spelling)).toThrow(ImageInputError);
    expect(() => parseImageInput(spelling)).toThrow(expected);
  });

  test.each([
    ['myapp:1.2', 'myapp:1.2'],
    ['docker:27-dind (an image called docker)', 'docker:27-dind'],
    ['docker-daemon:myapp:1.2 (skopeo spelling)', 'myapp:1.2'],
    ['constructor:1 (a name that is also an Object.prototype key)', 'constructor:1'],
  ])('a daemon reference: %s', (spelling, reference) => {
    const input = parseImageInput(spelling.split(' ')[0]!);
    expect(input).toMatchObject({ kind: 'daemon', reference });
  });
});

describe('the whole check on each shape (in-process)', () => {
  const spec = { certs: [], fingerprints: ['00'.repeat(32)] };

  test.each<[string, (s: InputShapes) => string]>([
    ['OCI layout', (s) => s.ociDir],
    ['OCI archive', (s) => `oci-archive:${s.ociTar}`],
    ['docker save', (s) => s.legacyTar],
    ['skopeo dir', (s) => `dir:${s.skopeoDir}`],
    ['rootfs dir', (s) => `rootfs:${s.plainDir}`],
    ['rootfs tar', (s) => `rootfs:${s.plainTar}`],
  ])('%s is read completely and passes', async (_name, spelling) => {
    const report = await checkImage({ image: spelling(s), spec });
    expect(report.unscanned).toEqual([]);
    expect(report.findings).toEqual([]);
    expect(report.stats.files).toBeGreaterThan(0);
  });

  test('a reference the layout does not hold is an error that lists what it holds', async () => {
    await expect(checkImage({ image: `oci:${s.ociDir}:2`, spec })).rejects.toThrow(
      /holds no image '2' \(it holds: 1, example\.com\/app:1\)/,
    );
    await expect(checkImage({ image: `docker-archive:${s.legacyTar}:other:1`, spec })).rejects.toThrow(
      /holds no image 'other:1' \(it holds: example\.com\/app:1, @0\)/,
    );
  });

  test('a bare non-image directory is not scanned as a root file system', async () => {
    await expect(checkImage({ image: s.plainDir, spec })).rejects.toThrow(/write rootfs:/);
  });
});
