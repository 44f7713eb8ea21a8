/**
 * One small image in every shape an `image` input can take, assembled by hand with real tar and gzip bytes and
 * correct digests, plus the shapes that are not images (empty directory, plain directory, layout without index.json,
 * plain tar, gzip file). For the fail-closed tables: each shape with each transport spelling.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { archive, Blobs, sha256, tarOf } from './layout.js';

export interface InputShapes {
  readonly ociDir: string;
  readonly ociTar: string;
  readonly legacyTar: string;
  readonly legacyDir: string;
  readonly skopeoDir: string;
  readonly emptyDir: string;
  readonly plainDir: string;
  readonly noIndexDir: string;
  readonly noIndexTar: string;
  readonly plainTar: string;
  readonly gzipTar: string;
  readonly textFile: string;
}

/** The files of the one image every shape holds. */
export const IMAGE_FILES = { 'etc/hello.txt': 'hello\n', 'app/run': '#!/bin/sh\necho run\n' };

export function makeInputShapes(work: string): InputShapes {
  mkdirSync(work, { recursive: true });
  const blobs = new Blobs();
  const img = blobs.image({ architecture: 'amd64', os: 'linux' }, [{ files: IMAGE_FILES, createdBy: 'COPY . /' }]);
  const ociDir = blobs.write(join(work, 'oci'), img.descriptor, { name: 'example.com/app:1' });
  const ociTar = archive(cpDir(ociDir, join(work, 'oci-copy')), join(work, 'oci.tar'));

  // docker save before v25 (and containers/image's docker-archive): <cfg>.json, <id>/layer.tar, manifest.json.
  const layer = tarOf(IMAGE_FILES);
  const legacyDir = join(work, 'legacy');
  const cfg = blobs.blobs.get(img.config.digest.slice(7))!;
  const id = sha256(Buffer.concat([layer, Buffer.from('id')]));
  mkdirSync(join(legacyDir, id), { recursive: true });
  writeFileSync(join(legacyDir, id, 'layer.tar'), layer);
  writeFileSync(join(legacyDir, `${img.config.digest.slice(7)}.json`), cfg);
  writeFileSync(
    join(legacyDir, 'manifest.json'),
    JSON.stringify([
      { Config: `${img.config.digest.slice(7)}.json`, RepoTags: ['example.com/app:1'], Layers: [`${id}/layer.tar`] },
    ]),
  );
  const legacyTar = archive(cpDir(legacyDir, join(work, 'legacy-copy')), join(work, 'legacy.tar'));

  // containers/image dir: transport: manifest.json is the manifest itself, blobs are named by their hex digest.
  const skopeoDir = join(work, 'skopeo-dir');
  mkdirSync(skopeoDir);
  const manifest = blobs.blobs.get(img.descriptor.digest.slice(7))!;
  writeFileSync(join(skopeoDir, 'manifest.json'), manifest);
  writeFileSync(join(skopeoDir, 'version'), 'Directory Transport Version: 1.1\n');
  for (const d of [img.config, ...img.layers])
    writeFileSync(join(skopeoDir, d.digest.slice(7)), blobs.blobs.get(d.digest.slice(7))!);

  const emptyDir = join(work, 'empty');
  mkdirSync(emptyDir);
  const plainDir = join(work, 'plain');
  mkdirSync(join(plainDir, 'etc'), { recursive: true });
  writeFileSync(join(plainDir, 'etc/hostname'), 'box\n');
  const noIndexDir = cpDir(ociDir, join(work, 'no-index'));
  rmSync(join(noIndexDir, 'index.json'));
  const noIndexTar = archive(cpDir(noIndexDir, join(work, 'no-index-copy')), join(work, 'no-index.tar'));
  const plainTar = join(work, 'plain.tar');
  execFileSync('tar', ['-C', plainDir, '-cf', plainTar, 'etc']);
  const gzipTar = join(work, 'oci.tar.gz');
  writeFileSync(gzipTar, gzipSync(tarOf({ 'index.json': '{}' })));
  const textFile = join(work, 'notes.txt');
  writeFileSync(textFile, 'not an image\n');
  return {
    ociDir,
    ociTar,
    legacyTar,
    legacyDir,
    skopeoDir,
    emptyDir,
    plainDir,
    noIndexDir,
    noIndexTar,
    plainTar,
    gzipTar,
    textFile,
  };
}

function cpDir(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}
