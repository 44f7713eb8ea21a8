/**
 * Hand-assembled image layouts for the leak check: real ustar bytes, real gzip, correct sha256 digests, written as an
 * OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md), its tar, or a Docker 25+
 * `docker save` layout (index.json + oci-layout + manifest.json over blobs/sha256, moby#44598). For shapes buildah
 * cannot make here: multi-platform indexes with BuildKit attestation manifests, arbitrary files in a layer.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** One regular file per entry, ustar headers (POSIX.1-1988), end-of-archive marker of two zero blocks. */
export function tarOf(files: Readonly<Record<string, string | Buffer>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    if (name.length > 100) throw new Error(`tar name over 100 bytes: ${name}`);
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('14707040000\0', 136);
    h.fill(0x20, 148, 156);
    h.write('0', 156);
    h.write('ustar\x0000', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface LayerSpec {
  /** Files of the layer. */
  readonly files: Readonly<Record<string, string | Buffer>>;
  /** The Dockerfile instruction history records for it. */
  readonly createdBy: string;
}

/** A content-addressed blob store, written out as blobs/sha256/<hex>. */
export class Blobs {
  readonly blobs = new Map<string, Buffer>();

  put(bytes: Buffer | string | object, mediaType: string): Descriptor {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(typeof bytes === 'string' ? bytes : JSON.stringify(bytes));
    const hex = sha256(b);
    this.blobs.set(hex, b);
    return { mediaType, digest: `sha256:${hex}`, size: b.length };
  }

  /** An image manifest with its config; layers gzip-compressed unless `compress` is false. */
  image(
    platform: { architecture: string; os: string },
    layers: readonly LayerSpec[],
    compress = true,
  ): { descriptor: Descriptor; layers: Descriptor[]; config: Descriptor } {
    const tars = layers.map((l) => tarOf(l.files));
    const layerDescriptors = tars.map((t) =>
      compress ? this.put(gzipSync(t), MEDIA.layerGzip) : this.put(t, MEDIA.layerTar),
    );
    const config = this.put(
      {
        ...platform,
        created: '2026-01-01T00:00:00Z',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/app/run'] },
        rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${sha256(t)}`) },
        history: [
          ...layers.map((l) => ({
            created: '2026-01-01T00:00:00Z',
            created_by: l.createdBy,
            comment: 'buildkit.dockerfile.v0',
          })),
          {
            created: '2026-01-01T00:00:00Z',
            created_by: 'CMD ["/app/run"]',
            comment: 'buildkit.dockerfile.v0',
            empty_layer: true,
          },
        ],
      },
      MEDIA.config,
    );
    const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: layerDescriptors };
    return { descriptor: { ...this.put(manifest, MEDIA.manifest), platform }, layers: layerDescriptors, config };
  }

  /**
   * A BuildKit attestation manifest for `subject` (https://github.com/moby/buildkit/blob/master/docs/attestations/attestation-storage.md):
   * platform unknown/unknown, the vnd.docker.reference.* annotations, one in-toto JSON layer per statement.
   */
  attestation(
    subject: Descriptor,
    statements: readonly { predicateType: string; statement: object }[],
  ): { descriptor: Descriptor; layers: Descriptor[] } {
    const layers = statements.map((s) => ({
      ...this.put(s.statement, MEDIA.inToto),
      annotations: { 'in-toto.io/predicate-type': s.predicateType },
    }));
    const config = this.put(
      {
        architecture: 'unknown',
        os: 'unknown',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      },
      MEDIA.config,
    );
    const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers };
    return {
      descriptor: {
        ...this.put(manifest, MEDIA.manifest),
        platform: { architecture: 'unknown', os: 'unknown' },
        annotations: {
          'vnd.docker.reference.type': 'attestation-manifest',
          'vnd.docker.reference.digest': subject.digest,
        },
      },
      layers,
    };
  }

  index(manifests: readonly Descriptor[]): Descriptor {
    return this.put({ schemaVersion: 2, mediaType: MEDIA.index, manifests }, MEDIA.index);
  }

  /**
   * Writes an OCI layout whose index.json points at `top` (as `buildah push oci:` and BuildKit's oci exporter do);
   * `dockerManifest` adds the manifest.json of a Docker 25+ `docker save` (which lists only the platform the daemon
   * runs: the others are reachable only through index.json). `omit` leaves blobs out, to fake a missing one.
   */
  write(
    dir: string,
    top: Descriptor,
    options: {
      name?: string;
      dockerManifest?: { config: Descriptor; layers: Descriptor[] };
      omit?: readonly string[];
    } = {},
  ): string {
    mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
    const omit = new Set((options.omit ?? []).map((d) => d.replace(/^sha256:/, '')));
    for (const [hex, b] of this.blobs) if (!omit.has(hex)) writeFileSync(join(dir, 'blobs/sha256', hex), b);
    const name = options.name ?? 'example.com/app:1';
    const annotations = {
      'io.containerd.image.name': name,
      'org.opencontainers.image.ref.name': name.split(':').pop()!,
    };
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ ...top, annotations }] }),
    );
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    if (options.dockerManifest) {
      const m = options.dockerManifest;
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify([
          {
            Config: `blobs/sha256/${m.config.digest.slice(7)}`,
            RepoTags: [name],
            Layers: m.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
          },
        ]),
      );
    }
    return dir;
  }
}

/** The tar of a layout directory, members at the top level (as `buildah push oci-archive:` and `docker save` write). */
export function archive(dir: string, outTar: string, removeDir = true): string {
  execFileSync('tar', ['-C', dir, '-cf', outTar, ...readdirSync(dir).sort()]);
  if (removeDir) rmSync(dir, { recursive: true, force: true });
  return outTar;
}

/**
 * A one-image OCI layout written straight to `dir`, every descriptor in `algorithm` (image-spec registers sha256 and
 * sha512), one gzip layer per entry of `layers`, diff_ids in the config. `afterPut` may change a blob after its
 * digest was taken (a tampered layout).
 */
export function writeOciLayout(
  dir: string,
  layers: readonly Readonly<Record<string, string | Buffer>>[],
  options: { algorithm?: 'sha256' | 'sha512'; tamperLayer?: number; env?: readonly string[] } = {},
): string {
  const algorithm = options.algorithm ?? 'sha256';
  const hash = (b: Buffer): string => createHash(algorithm).update(b).digest('hex');
  mkdirSync(join(dir, 'blobs', algorithm), { recursive: true });
  const put = (bytes: Buffer, mediaType: string): Descriptor => {
    writeFileSync(join(dir, 'blobs', algorithm, hash(bytes)), bytes);
    return { mediaType, digest: `${algorithm}:${hash(bytes)}`, size: bytes.length };
  };
  const tars = layers.map((files) => tarOf(files));
  const descriptors = tars.map((t, i) => {
    const d = put(gzipSync(t), MEDIA.layerGzip);
    if (options.tamperLayer === i)
      writeFileSync(join(dir, 'blobs', algorithm, hash(gzipSync(t))), gzipSync(tarOf({ x: 'y' })));
    return d;
  });
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        ...(options.env ? { config: { Env: options.env } } : {}),
        rootfs: { type: 'layers', diff_ids: tars.map((t) => `${algorithm}:${hash(t)}`) },
        history: layers.map(() => ({ created_by: 'COPY . /app' })),
      }),
    ),
    MEDIA.config,
  );
  const manifest = put(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: descriptors })),
    MEDIA.manifest,
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
